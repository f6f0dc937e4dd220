"""Whole syntheses measured: seconds per texture alone, batched and sequential, and over
devices (`scripts/benchmark.py`); optax against jaxopt L-BFGS on the papers' problems and
jaxstyle's texture configs (`scripts/benchmark.py --solvers`; BUILD.md "L-BFGS: optax
against jaxopt")."""

import time

import jax
import numpy as np

from jaxstyle import batch
from jaxstyle import config as config_lib
from jaxstyle import examples
from jaxstyle import nets
from jaxstyle import optimize
from jaxstyle import representation
from jaxstyle import spectral
from jaxstyle import synthesis
from jaxstyle.benchmark import N_FFT
from jaxstyle.benchmark import SECONDS


def _texture_config(*, channels: int, iterations: int):
  c = config_lib.base()
  c.net.channels, c.iterations, c.log_every = channels, iterations, 10**9
  return c


def batch_throughput(*, jobs: int = 8, channels: int = 512, iterations: int = 20,
                     duration_s: float = SECONDS) -> dict:
  """Seconds per texture (`duration_s` long, `channels`-wide 2-stack net, `iterations`
  L-BFGS iterations): one job alone, `jobs` seeds in one vmapped program, and `jobs`
  sequential runs of `synthesis.synthesize`; each after a warm-up compile."""
  c = _texture_config(channels=channels, iterations=iterations)
  spec = spectral.spectrogram(examples.birds_and_rain(duration_s=duration_s), n_fft=N_FFT,
                              hop_length=c.hop_length)
  todo = [batch.Job(c, [spec], seed=k) for k in range(jobs)]
  variables = nets.random_variables(c, *spec.shape)
  runs = {
      "batch_1": lambda: batch.synthesize_batch(todo[:1], variables=variables),
      f"batch_{jobs}": lambda: batch.synthesize_batch(todo, variables=variables),
      f"sequential_{jobs}": lambda: [synthesis.synthesize(c, style=[spec], seed=k,
                                                          variables=variables)
                                     for k in range(jobs)],
  }
  out = {"jobs": jobs, "channels": channels, "iterations": iterations, "duration_s": duration_s}
  for name, f in runs.items():
    f()
    start = time.perf_counter()
    f()
    n = 1 if name == "batch_1" else jobs
    out[f"{name}_s_per_texture"] = (time.perf_counter() - start) / n
  out["batch_speedup_vs_sequential"] = (out[f"sequential_{jobs}_s_per_texture"]
                                        / out[f"batch_{jobs}_s_per_texture"])
  return out


def sweep_throughput(*, jobs: int = 8, channels: int = 128, iterations: int = 10,
                     duration_s: float = SECONDS) -> dict:
  """Textures (`duration_s` long) per second of a batch of `jobs` split over 1, 2, 4, ...
  of the local devices (on a CPU, force host devices:
  XLA_FLAGS=--xla_force_host_platform_device_count=4)."""
  c = _texture_config(channels=channels, iterations=iterations)
  spec = spectral.spectrogram(examples.birds_and_rain(duration_s=duration_s), n_fft=N_FFT,
                              hop_length=c.hop_length)
  todo = [batch.Job(c, [spec], seed=k) for k in range(jobs)]
  variables = nets.random_variables(c, *spec.shape)
  out = {"jobs": jobs, "channels": channels, "iterations": iterations, "duration_s": duration_s,
         "textures_per_s": {}}
  n = 1
  while n <= len(jax.local_devices()):
    mesh = jax.sharding.Mesh(np.array(jax.local_devices()[:n]), (batch.JOB_AXIS,))
    batch.synthesize_batch(todo, variables=variables, mesh=mesh)
    start = time.perf_counter()
    batch.synthesize_batch(todo, variables=variables, mesh=mesh)
    out["textures_per_s"][str(n)] = jobs / (time.perf_counter() - start)
    n *= 2
  return out


def compare_solvers(c, *, style: np.ndarray, content: np.ndarray | None = None,
                      iterations: int, seed: int = 0) -> dict:
  """optax vs jaxopt L-BFGS on one problem (config `c`, spectrograms `[time, freq]`).

  Each solver runs `iterations` iterations from the same start with the stall stop
  off; per solver: the loss at the start, at the end and the best, seconds (after
  compilation) and loss evaluations per iteration (forward passes, counted by a host
  callback in the objective; the first evaluation, at the start, is not counted).
  """
  out = {}
  for name in optimize.SOLVERS:
    p = synthesis.problem(c, style=[style], content=content, seed=seed)
    calls = [0]

    def counted(x, *args, fun=p.fun, calls=calls):
      jax.debug.callback(lambda: calls.__setitem__(0, calls[0] + 1))
      return fun(x, *args)

    solver = optimize.lbfgs(counted, solver=name, history_size=c.history_size)
    res = optimize.minimize(solver, p.x0, *p.args, iterations=iterations,
                            log_every=max(1, iterations // 5))
    done = res.history["iteration"][-1]
    out[name] = {"start": res.history["total"][0], "final": res.history["total"][-1],
                 "best": min(res.history["total"]), "iterations": done,
                 "seconds": res.history["seconds"][-1], "compile_s": res.compile_s,
                 "evals_per_iteration": (calls[0] - 1) / max(done, 1),
                 "stop_reason": res.stop_reason}
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
    out[name] = (c, iterations, representation.analyze(clips[style], c),
                 None if content is None else representation.analyze(clips[content], c))
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
