"""Running syntheses: one or many jobs in one compiled program, over the local devices.

`run` is the host side of every synthesis (scripts, sweeps, blocks, the library
calls). It compiles the parts of `synthesis.generate` (`begin`, `advance`, `finish`;
with a waveform stage, `finish` as `render`, `refine_advance` and `assemble`): for one
job as they are, for several `jax.vmap`-ed over a leading job axis and, with a `mesh`,
split over its devices by `jax.shard_map`, each device running its jobs with no
communication. The L-BFGS iterations of both stages run on the device in chunks of
`log_every`; between two chunks the host reads one small `optimize.Summary` for the
progress line, and nothing else. Each job has its own L-BFGS state, line search, best
iterate and stop: a job that stops is frozen at its best iterate while the others go
on, and the run ends when none is running.

The one module that batches jobs: jobs share a program if their `Spec`s are equal but
for the weights of active terms (`batchable`); keys, weights, style targets and
content spectrograms are arguments of the program.
"""

from collections.abc import Sequence
import dataclasses
import functools
import time
from typing import Any

from absl import logging
import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np

from jaxstyle import objective
from jaxstyle import optimize
from jaxstyle import synthesis
from jaxstyle.errors import InputError

JOB_AXIS = "jobs"  # the mesh axis the jobs are split over


def local_mesh() -> Mesh:
  """A 1D mesh (axis `JOB_AXIS`) of this process's devices."""
  return Mesh(np.array(jax.local_devices()), (JOB_AXIS,))


def stack(trees: Sequence[Any]) -> Any:
  """Pytrees of equal structure and shapes stacked leaf by leaf along a new job axis."""
  return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


def stack_targets(targets: Sequence[objective.Targets]) -> objective.Targets:
  """`stack` of the targets of several styles. Their Gram factors may differ in rows
  (clips of different lengths); zero rows leave a Gram unchanged (`losses.style_target`),
  so they are padded to a common count first."""
  rows = jax.tree.map(lambda *t: max(x.shape[0] for x in t), *[t.gram for t in targets])
  padded = [t._replace(gram=jax.tree.map(lambda g, r: jnp.pad(g, ((0, r - g.shape[0]), (0, 0))),
                                         t.gram, rows)) for t in targets]
  shapes = {str(jax.tree.map(jnp.shape, t)) for t in padded}
  if len(shapes) > 1:
    raise InputError("the style targets of one batch need equal shapes (the time "
                     "orientation: clips of equal length)")
  return stack(padded)


def program(spec: synthesis.Spec) -> synthesis.Spec:
  """What fixes the compiled program of `spec`: the spec with the weights of its active
  terms set to 1 (specs equal here can be one batch)."""
  o = spec.objective
  weights = tuple((k, float(w > 0)) for k, w in o.weights)
  return dataclasses.replace(spec, objective=dataclasses.replace(o, weights=weights))


def batchable(specs: Sequence[synthesis.Spec]) -> synthesis.Spec:
  """The program's spec of jobs whose specs differ only in the weights of their active
  terms (the first's); raises `InputError` naming what else differs."""
  first = _fields(program(specs[0]))
  differ = sorted({k for s in specs[1:] for k, v in _fields(program(s)).items() if first[k] != v})
  if differ:
    raise InputError("the jobs of one batch may differ only in loss weights (of the same "
                     f"terms), seeds and clips; their configs differ in: {', '.join(differ)}")
  return specs[0]


def _fields(s: synthesis.Spec) -> dict[str, Any]:
  """The spec's settings by config key (`net.kernel_size`, `style_weight`, ...)."""
  out = {}
  for part, prefix in ((s.objective.representation, ""), (s.objective, ""), (s.net, "net."),
                       (s.lbfgs, ""), (s.phase, "phase_"), (s, "")):
    for f in dataclasses.fields(part):
      value = getattr(part, f.name)
      if dataclasses.is_dataclass(value):
        continue
      if f.name == "weights":
        out.update({f"{k}_weight": w for k, w in value})
      else:
        out[{"kind": "spectrogram"}.get(f.name, prefix + f.name)] = value
  return out


def _pad(tree: Any, n: int) -> Any:
  """Repeats the last job of every leaf (leading axis) up to `n` jobs."""
  return jax.tree.map(
      lambda a: jnp.concatenate([a, jnp.repeat(a[-1:], n - len(a), axis=0)]) if n > len(a) else a,
      tree)


def _begin(spec, targets, key, content, variables, weights, hold):
  return synthesis.begin(spec, targets, key, content=content, variables=variables,
                         weights=weights, hold=hold)


def _advance(spec, state, targets, content, variables, weights, hold, until):
  return synthesis.advance(spec, state, targets, until=until, content=content,
                           variables=variables, weights=weights, hold=hold)


def _finish(spec, state, targets, key, content, variables, weights, hold):
  return synthesis.finish(spec, state, targets, key, content=content, variables=variables,
                          weights=weights, hold=hold)


def _render(spec, state, targets, key, content, variables, weights, hold):
  rendered = synthesis.render(spec, state, key=key, hold=hold)
  return rendered, synthesis.refine_begin(spec, rendered.audio, targets, content=content,
                                          variables=variables, weights=weights, hold=hold)


def _refine(spec, refining, targets, content, variables, weights, until):
  return synthesis.refine_advance(spec, refining, targets, until=until, content=content,
                                  variables=variables, weights=weights)


def _assemble(spec, state, rendered, refining, targets):
  return synthesis.assemble(spec, state, rendered, refining, targets)


@functools.cache
def _programs(spec: synthesis.Spec, batched: bool, mesh: Mesh | None, shared_weights: bool):
  """The jitted (begin, advance, finish, render, refine, assemble) of `spec`: as they
  are, or over a job axis (`batched`) and split over `mesh`; `finish` is `render`, then
  `refine` to the end, then `assemble`. `shared_weights`: the weights are the spec's
  (one for all jobs), else an argument per job."""
  begin, advance, finish, render, refine, assemble = (
      functools.partial(f, spec) for f in (_begin, _advance, _finish, _render, _refine,
                                           _assemble))
  if batched:
    w = None if shared_weights else 0
    # [state,] targets, key/state, content, variables (shared), weights, hold[, until]
    begin = jax.vmap(begin, in_axes=(0, 0, 0, None, w, 0))
    advance = jax.vmap(advance, in_axes=(0, 0, 0, None, w, 0, None))
    finish = jax.vmap(finish, in_axes=(0, 0, 0, 0, None, w, 0))
    render = jax.vmap(render, in_axes=(0, 0, 0, 0, None, w, 0))
    refine = jax.vmap(refine, in_axes=(0, 0, 0, None, w, None))
    assemble = jax.vmap(assemble)
    if mesh is not None:
      # Each device runs its jobs alone: no collectives, so no varying-axis checks (optax's
      # line search transposes with a plain float cotangent, which those checks refuse).
      j, s = P(JOB_AXIS), P()
      ws = s if shared_weights else j
      split = functools.partial(jax.shard_map, mesh=mesh, out_specs=j, check_vma=False)
      begin = split(begin, in_specs=(j, j, j, s, ws, j))
      advance = split(advance, in_specs=(j, j, j, s, ws, j, s))
      finish = split(finish, in_specs=(j, j, j, j, s, ws, j))
      render = split(render, in_specs=(j, j, j, j, s, ws, j))
      refine = split(refine, in_specs=(j, j, j, s, ws, s))
      assemble = split(assemble, in_specs=(j, j, j, j, j))
  return tuple(map(jax.jit, (begin, advance, finish, render, refine, assemble)))


def run(spec: synthesis.Spec, targets: objective.Targets, keys: jax.Array, *,
        content: jnp.ndarray | None = None, variables: dict | None = None,
        weights: dict | None = None, hold: synthesis.Hold | None = None,
        mesh: Mesh | None = None, progress: bool = True, chunk: int | None = None,
        seeds: Sequence[int] | None = None) -> list[synthesis.Result]:
  """Runs `len(keys)` jobs of `spec` in one program; each gives what `synthesis.generate`
  gives for it alone (exactly for a single job on one device, which runs unbatched;
  up to floating-point rounding for a batch).

  Args:
    spec: the program's spec (`batchable` for jobs of several configs).
    targets: `objective.Targets` with a leading job axis (`stack_targets`).
    keys: `[jobs]` PRNG keys (noise start and Griffin-Lim).
    content: `[jobs, frames, freq]` content spectrograms (style transfer), or None.
    variables: the frozen network's, shared by all jobs (default random, made once).
    weights: `{term: [jobs]}` per-job weights, or None: the spec's.
    hold: a `synthesis.Hold` with a leading job axis (blocks), or None.
    mesh: split the jobs over this 1D mesh's devices (padded to a multiple of its size
      by repeating the last job); None: the default device.
    progress: show the progress line (`optimize.Progress`) after each chunk.
    chunk: iterations per dispatch (default `spec.lbfgs.log_every`).
    seeds: each job's seed, for the host's phase reconstruction of `cqt` (librosa).

  Returns:
    One `synthesis.Result` per job, in order; `compile_s` is the program's.
  """
  n_jobs = len(keys)
  seeds = list(seeds) if seeds is not None else [0] * n_jobs
  if variables is None:
    variables = synthesis.random_variables(spec)
  batched = n_jobs > 1 or (mesh is not None and mesh.size > 1)
  mesh = mesh if batched and mesh is not None and mesh.size > 1 else None
  jobs = (targets, keys, content, weights, hold)
  if not batched:
    jobs = jax.tree.map(lambda a: a[0], jobs)
  elif mesh is not None:
    n = -(-n_jobs // mesh.size) * mesh.size
    on_jobs, shared = NamedSharding(mesh, P(JOB_AXIS)), NamedSharding(mesh, P())
    jobs = jax.device_put(_pad(jobs, n), on_jobs)
    variables = jax.device_put(variables, shared)
  targets, keys, content, weights, hold = jobs
  begin, advance, finish, render, refine, assemble = _programs(spec, batched, mesh,
                                                              weights is None)

  start = time.perf_counter()
  begin = begin.lower(targets, keys, content, variables, weights, hold).compile()
  state = begin(targets, keys, content, variables, weights, hold)
  until = jnp.int32(0)
  advance = advance.lower(state, targets, content, variables, weights, hold, until).compile()
  if spec.refine_iterations:
    render = render.lower(state, targets, keys, content, variables, weights, hold).compile()
    rendered, refining = render.out_info
    refine = refine.lower(refining, targets, content, variables, weights, until).compile()
    assemble = assemble.lower(state, rendered, refining, targets).compile()
  else:
    finish = finish.lower(state, targets, keys, content, variables, weights, hold).compile()
  compile_s = time.perf_counter() - start

  def chunks(carry, advance, settings, what="", of=lambda c: c):
    """`carry` advanced (`advance(carry, until)`) in chunks of `chunk` iterations to the
    end or a stop of its L-BFGS state `of(carry)`, with a progress line after each."""
    step = chunk or settings.log_every
    show = optimize.Progress(settings, jobs=n_jobs, what=what) if progress else None
    done = 0
    while done < settings.iterations:
      done = min(done + step, settings.iterations)
      carry = advance(carry, jnp.int32(done))
      s = jax.device_get(optimize.summary(of(carry)))  # the one read per chunk
      if not batched:
        s = jax.tree.map(lambda a: np.asarray(a)[None], s)
      s = jax.tree.map(lambda a: a[:n_jobs], s)
      if show is not None and (done % settings.log_every == 0 or done == settings.iterations
                               or not (s.stop == optimize.RUNNING).any()):
        show.update(s)
      if not (s.stop == optimize.RUNNING).any():
        break
    if show is not None:
      show.close()
    return carry

  state = chunks(state, lambda s, until: advance(s, targets, content, variables, weights, hold,
                                                 until), spec.lbfgs)
  if spec.refine_iterations:
    if progress:
      logging.info("refining the waveform: %d L-BFGS iterations", spec.refine_iterations)
    rendered, refining = render(state, targets, keys, content, variables, weights, hold)
    waveform = dataclasses.replace(spec.lbfgs, iterations=spec.refine_iterations,
                                   stall_iterations=0)
    refining = chunks(refining, lambda r, until: refine(r, targets, content, variables, weights,
                                                        until),
                      waveform, "waveform stage, ", lambda r: r.state)
    out = assemble(state, rendered, refining, targets)
  else:
    out = finish(state, targets, keys, content, variables, weights, hold)
  out = jax.device_get(out)
  if not batched:
    out = jax.tree.map(lambda a: np.asarray(a)[None], out)
  results = [synthesis.result(spec, jax.tree.map(lambda a, j=j: a[j], out),
                              compile_s=compile_s, seed=seeds[j]) for j in range(n_jobs)]
  for j, r in enumerate(results if progress else []):
    if r.refine_history is not None:
      total = r.refine_history["total"]
      logging.info("%swaveform stage: loss %.4g -> %.4g in %d iterations",
                   f"job {j} " if n_jobs > 1 else "", total[0], min(total), len(total) - 1)
  return results


@dataclasses.dataclass(frozen=True)
class Job:
  """One synthesis of a batch.

  Attributes:
    spec: its `synthesis.Spec`; the jobs of one batch must have equal specs but for the
      weights of their active terms (`batchable`).
    style: style spectrograms `[time_i, freq]` (network scale), one target.
    content: content spectrogram `[time, freq]` for style transfer, or None.
    seed: seed of the noise start and of the phase reconstruction.
    targets: the style's targets when made otherwise (e.g. `objective.barycentre`);
      `style` is then unused.
    waves: the style clips' waveforms `[samples_i]`, which the `auditory` term needs.
  """

  spec: synthesis.Spec
  style: Sequence[np.ndarray]
  content: np.ndarray | None = None
  seed: int = 0
  targets: objective.Targets | None = None
  waves: Sequence[np.ndarray] | None = None


_targets = jax.jit(synthesis.targets)


def targets(spec: synthesis.Spec, style: Sequence[np.ndarray], variables: dict | None = None,
            waves: Sequence[np.ndarray] | None = None) -> objective.Targets:
  """`synthesis.targets` of style spectrograms `[time_i, freq]` (and their waveforms
  `[samples_i]`, for the `auditory` term), compiled."""
  return _targets(spec, tuple(jnp.asarray(s) for s in style), variables,
                  None if waves is None else tuple(jnp.asarray(w) for w in waves))


def synthesize(jobs: Sequence[Job], *, variables: dict | None = None, mesh: Mesh | None = None,
               progress: bool = True, chunk: int | None = None) -> list[synthesis.Result]:
  """The jobs' syntheses in one compiled program (`run`): their style targets, weights,
  contents and keys stacked along the job axis.

  Args:
    jobs: the syntheses; each result equals its job made alone up to floating-point
      rounding (exactly for a single job on one device, which runs unbatched). They
      share one task (texture or style transfer) and output shape; style clips may
      differ in length, except for `net.orientation=time`, where frames are channels.
    variables: the frozen network's (a checkpoint's); default random, made once.
    mesh, progress, chunk: as in `run`.

  Returns:
    One result per job, in order.
  """
  spec = batchable([j.spec for j in jobs])
  if len({j.content is None for j in jobs}) > 1 or len(
      {None if j.content is None else np.shape(j.content) for j in jobs}) > 1:
    raise InputError("the jobs of one batch need one task (texture or style transfer) and "
                     "equal output shapes")
  variables = synthesis.random_variables(spec) if variables is None else variables
  stacked = stack_targets([targets(j.spec, j.style, variables, j.waves) if j.targets is None
                           else j.targets for j in jobs])
  content = (None if jobs[0].content is None
             else stack([jnp.asarray(j.content, jnp.float32) for j in jobs]))
  weights = (None if all(j.spec == spec for j in jobs)
             else stack([objective.weights(j.spec.objective) for j in jobs]))
  keys = jnp.stack([jax.random.key(j.seed) for j in jobs])
  return run(spec, stacked, keys, content=content, variables=variables, weights=weights,
             mesh=mesh, progress=progress, chunk=chunk, seeds=[j.seed for j in jobs])
