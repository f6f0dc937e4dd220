"""Whole syntheses measured (`scripts/benchmark.py`): textures per second with the L-BFGS
loop on the device against a host loop, at several batch sizes (`generation`); seconds
per texture alone, batched and sequential (`batch_throughput`), and over devices
(`sweep_throughput`); optax against jaxopt L-BFGS on the papers' problems and
jaxstyle's texture configs (`--solvers`; BUILD.md "L-BFGS: optax against jaxopt")."""

from collections.abc import Sequence
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxstyle import batch
from jaxstyle import config as config_lib
from jaxstyle import examples
from jaxstyle import optimize
from jaxstyle import representation
from jaxstyle import synthesis
from jaxstyle.benchmark import SECONDS


def _texture_config(*, channels: int, iterations: int):
  c = config_lib.base()
  c.net.channels, c.iterations, c.log_every = channels, iterations, 10**9
  return c


def _jobs(c, *, jobs: int, duration_s: float) -> list[batch.Job]:
  """`jobs` seeds of a texture of the built-in example under config `c`."""
  y = examples.birds_and_rain(duration_s=duration_s, sample_rate=c.sample_rate)
  spec = config_lib.spec(c, n_samples=y.size)
  style = representation.analyze(y, spec.representation)
  return [batch.Job(spec, [style], seed=k, waves=[y]) for k in range(jobs)]


def _seconds(f) -> float:
  start = time.perf_counter()
  f()
  return time.perf_counter() - start


def generation(c, *, batches: Sequence[int] = (1, 8, 64), iterations: int = 10,
               duration_s: float = 4.0, rounds: int = 1) -> dict:
  """Textures per second of config `c` (`iterations` L-BFGS iterations, the stall stop
  off, `duration_s` of the built-in example), per batch size in `batches`, two ways in
  one run:

  - `device`: the loop on the device, read every `log_every` iterations (`batch.run`);
  - `host`: the same program driven from the host one iteration at a time, its state
    read after each (the cost of the loop before it moved onto the device).

  Each after a warm-up run that compiles it; `rounds` timed runs alternate the two,
  the best of each kept. The phase reconstruction is included.
  """
  c = c.copy_and_resolve_references()
  c.iterations, c.stall_iterations = iterations, 0
  out = {"iterations": iterations, "duration_s": duration_s, "log_every": c.log_every,
         "rows": []}
  for n in batches:
    jobs = _jobs(c, jobs=n, duration_s=duration_s)
    variables = synthesis.random_variables(jobs[0].spec)
    mesh = batch.local_mesh() if n > 1 else None
    ways = {"device": None, "host": 1}

    def run(chunk, jobs=jobs, variables=variables, mesh=mesh):
      return batch.synthesize(jobs, variables=variables, mesh=mesh, progress=False, chunk=chunk)

    for chunk in ways.values():
      run(chunk)
    best = {}
    for _ in range(rounds):
      for way, chunk in ways.items():
        best[way] = min(best.get(way, np.inf), _seconds(lambda chunk=chunk: run(chunk)))
    out["rows"].append({"batch": n, **{f"{w}_textures_per_s": n / s for w, s in best.items()},
                        "device_vs_host": best["host"] / best["device"]})
  return out


def generation_table(results: dict[str, dict]) -> str:
  """A markdown table of `generation` results by config name."""
  rows = ["| config | batch | host loop textures/s | device loop textures/s | device / host |",
          "|---|---|---|---|---|"]
  for name, r in results.items():
    for row in r["rows"]:
      rows.append(f"| {name} | {row['batch']} | {row['host_textures_per_s']:.3g} | "
                  f"{row['device_textures_per_s']:.3g} | {row['device_vs_host']:.2f} |")
  return "\n".join(rows)


def batch_throughput(*, jobs: int = 8, channels: int = 512, iterations: int = 20,
                     duration_s: float = SECONDS) -> dict:
  """Seconds per texture (`duration_s` long, `channels`-wide 2-stack net, `iterations`
  L-BFGS iterations): one job alone, `jobs` seeds in one vmapped program, and `jobs`
  sequential runs of one job; each after a warm-up compile."""
  todo = _jobs(_texture_config(channels=channels, iterations=iterations), jobs=jobs,
               duration_s=duration_s)
  variables = synthesis.random_variables(todo[0].spec)
  kw = dict(variables=variables, progress=False)
  runs = {
      "batch_1": lambda: batch.synthesize(todo[:1], **kw),
      f"batch_{jobs}": lambda: batch.synthesize(todo, **kw),
      f"sequential_{jobs}": lambda: [batch.synthesize([j], **kw) for j in todo],
  }
  out = {"jobs": jobs, "channels": channels, "iterations": iterations, "duration_s": duration_s}
  for name, f in runs.items():
    f()
    out[f"{name}_s_per_texture"] = _seconds(f) / (1 if name == "batch_1" else jobs)
  out["batch_speedup_vs_sequential"] = (out[f"sequential_{jobs}_s_per_texture"]
                                        / out[f"batch_{jobs}_s_per_texture"])
  return out


def sweep_throughput(*, jobs: int = 8, channels: int = 128, iterations: int = 10,
                     duration_s: float = SECONDS) -> dict:
  """Textures (`duration_s` long) per second of a batch of `jobs` split over 1, 2, 4, ...
  of the local devices (on a CPU, force host devices:
  XLA_FLAGS=--xla_force_host_platform_device_count=4)."""
  todo = _jobs(_texture_config(channels=channels, iterations=iterations), jobs=jobs,
               duration_s=duration_s)
  variables = synthesis.random_variables(todo[0].spec)
  out = {"jobs": jobs, "channels": channels, "iterations": iterations, "duration_s": duration_s,
         "textures_per_s": {}}
  n = 1
  while n <= len(jax.local_devices()):
    mesh = jax.sharding.Mesh(np.array(jax.local_devices()[:n]), (batch.JOB_AXIS,))
    f = lambda mesh=mesh: batch.synthesize(todo, variables=variables, mesh=mesh,  # noqa: E731
                                           progress=False)
    f()
    out["textures_per_s"][str(n)] = jobs / _seconds(f)
    n *= 2
  return out


def compare_solvers(c, *, style: np.ndarray, content: np.ndarray | None = None,
                    iterations: int, seed: int = 0) -> dict:
  """optax vs jaxopt L-BFGS on one problem (config `c`, spectrograms `[time, freq]`).

  Each solver runs `iterations` iterations from the same start with the stall stop
  off, in one program; per solver: the loss at the start, at the end and the best,
  seconds (after compilation) and loss evaluations per iteration (forward passes,
  counted by a host callback in the objective; the first evaluation, at the start, is
  not counted).
  """
  out = {}
  n_samples = c.hop_length * ((style if content is None else content).shape[0] - 1)
  for name in optimize.SOLVERS:
    c = c.copy_and_resolve_references()
    c.solver, c.iterations, c.stall_iterations = name, iterations, 0
    spec = config_lib.spec(c, n_samples=n_samples)
    targets = batch.targets(spec, [style])
    content_j = None if content is None else jnp.asarray(content)
    p = synthesis.problem(spec, targets, content_j)
    x0 = synthesis.start_point(spec, targets, jax.random.key(seed), content_j)
    calls = [0]

    def counted(x, *args, fun=p.fun, calls=calls):
      jax.debug.callback(lambda: calls.__setitem__(0, calls[0] + 1))
      return fun(x, *args)

    solve = jax.jit(lambda x0, args, counted=counted, settings=spec.lbfgs: optimize.minimize(
        counted, x0, *args, settings=settings))
    compiled = solve.lower(x0, p.args).compile()
    calls[0] = 0
    start = time.perf_counter()
    state = jax.block_until_ready(compiled(x0, p.args))
    seconds = time.perf_counter() - start
    h = optimize.history(jax.device_get(state.history), int(state.iteration))
    done = h["iteration"][-1]
    out[name] = {"start": h["total"][0], "final": h["total"][-1], "best": min(h["total"]),
                 "iterations": done, "seconds": seconds,
                 "evals_per_iteration": (calls[0] - 1) / max(done, 1),
                 "stop_reason": optimize.stop_reason(int(state.stop), int(state.stop_at),
                                                     spec.lbfgs, int(state.best_iteration))}
  return out


def solver_cases(*, paper_iterations: int) -> dict:
  """The problems of `compare_solvers`: name -> (config, iterations, style, content).

  The papers' texture and style transfer (3 stacks of 4096, `paper_iterations`
  iterations) and jaxstyle's texture configs at their own iteration counts, on the
  built-in procedural clips (5 s; rooster as style, babble as content).
  """
  clips = {"rooster": examples.rooster(), "babble": examples.babble(),
           "birds_and_rain": examples.birds_and_rain()}
  small = config_lib.texture()
  small.net.channels, small.iterations = 256, 60  # configs/default.py
  cases = {
      "huzaifah2019 texture": (config_lib.huzaifah2019_texture(), paper_iterations,
                               "rooster", None),
      "huzaifah2019 style transfer": (config_lib.huzaifah2019(), paper_iterations,
                                      "rooster", "babble"),
      "gram_only (base)": (config_lib.base(), 100, "birds_and_rain", None),
      "default (no-argument run)": (small, small.iterations, "birds_and_rain", None),
      "texture": (config_lib.texture(), 250, "birds_and_rain", None),
  }
  out = {}
  for name, (c, iterations, style, content) in cases.items():
    config_lib.check(c)
    r = config_lib.representation_spec(c)
    out[name] = (c, iterations, representation.analyze(clips[style], r),
                 None if content is None else representation.analyze(clips[content], r))
  return out


def solver_table(out: dict) -> str:
  """A markdown table of `compare_solvers` results by case."""
  rows = ["| case | iterations | solver | loss at start | loss at end | best | s | "
          "s / iteration | evaluations / iteration |", "|---" * 9 + "|"]
  for case, r in out.items():
    for name, s in r.items():
      rows.append(f"| {case} | {s['iterations']} | {name} | {s['start']:.4g} | "
                  f"{s['final']:.4g} | {s['best']:.4g} | {s['seconds']:.1f} | "
                  f"{s['seconds'] / max(s['iterations'], 1):.2f} | "
                  f"{s['evals_per_iteration']:.2f} |")
  return "\n".join(rows)
