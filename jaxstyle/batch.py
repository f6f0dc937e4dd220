"""Many syntheses in one compiled program, over the local devices.

The one module that batches jobs (`jax.vmap`) and spreads them over devices:
`minimize_batch` / `synthesize_batch` run N independent L-BFGS runs in one program,
each with its own solver state, line search, best iterate and NaN guard; the network's
variables are shared, not batched. With a `mesh` (`local_mesh()`) the jobs are split
over its devices by `jax.shard_map`: each device runs its share with no
communication, so no device waits on another's line searches.

Jobs may share a program if their configs differ only in the loss weights
(`static_key`), and their spectrograms have equal shapes; seeds, weights and style
or content clips are arguments of the program.
"""

from collections.abc import Sequence
import dataclasses
import functools
import json
import time
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import ml_collections
import numpy as np

from jaxstyle import config as config_lib
from jaxstyle import optimize
from jaxstyle import synthesis
from jaxstyle.errors import InputError

JOB_AXIS = "jobs"  # the mesh axis the jobs are split over
WEIGHT_KEYS = ("style_weight", "content_weight", "bound_weight")


@dataclasses.dataclass
class BatchResult:
  """What `minimize_batch` returns.

  Attributes:
    x: the best iterate of each job (lowest finite value), `[jobs, *x_shape]`.
    histories: per job, as `optimize.Result.history`; a frozen job's stops where it
      was frozen.
    stop_reasons: per job, why it stopped before `iterations`, or None.
    compile_s: time to compile the batched `init` and `step`.
  """

  x: np.ndarray
  histories: list[dict[str, list[float]]]
  stop_reasons: list[str | None]
  compile_s: float


def local_mesh() -> Mesh:
  """A 1D mesh (axis `JOB_AXIS`) of this process's devices."""
  return Mesh(np.array(jax.local_devices()), (JOB_AXIS,))


def _where(mask: jnp.ndarray, new: Any, old: Any) -> Any:
  """Per job, `new` where `mask` (`[jobs]` bool) is true, else `old`; leaf by leaf."""
  return jax.tree.map(lambda n, o: jnp.where(mask.reshape(mask.shape + (1,) * (n.ndim - 1)), n, o),
                      new, old)


@functools.cache
def _batched(solver: optimize.Solver, in_axes: tuple[int | None, ...],
             mesh: Mesh | None) -> optimize.Solver:
  """`solver` over a leading job axis, keeping each job's best iterate and NaN guard.

  init(x, *args) -> (state, value, aux, running)
  step(x, state, best_x, best_value, running, *args)
    -> (x, state, best_x, best_value, running, value, aux)
  A job stops running when its value or iterate turns non-finite; from then on its
  `x` and `state` stay as they were (it still computes, and its results are dropped).
  """
  vinit = jax.vmap(solver.init, in_axes=(0, *in_axes))
  vstep = jax.vmap(solver.step, in_axes=(0, 0, *in_axes))

  def init(x, *args):
    state, value, aux = vinit(x, *args)
    return state, value, aux, jnp.isfinite(value)

  def step(x, state, best_x, best_value, running, *args):
    new_x, new_state, value, aux = vstep(x, state, *args)
    finite = jnp.isfinite(value) & jnp.all(jnp.isfinite(new_x.reshape(len(new_x), -1)), axis=1)
    running = running & finite
    x, state = _where(running, (new_x, new_state), (x, state))
    better = running & (value <= best_value)
    best_x, best_value = _where(better, (new_x, value), (best_x, best_value))
    return x, state, best_x, best_value, running, value, aux

  if mesh is not None:
    # Each device runs its jobs alone: no collectives, so no varying-axis checks (optax's
    # line search transposes with a plain float cotangent, which those checks refuse).
    specs = tuple(P() if a is None else P(JOB_AXIS) for a in in_axes)
    split = functools.partial(jax.shard_map, mesh=mesh, out_specs=P(JOB_AXIS), check_vma=False)
    init = split(init, in_specs=(P(JOB_AXIS), *specs))
    step = split(step, in_specs=(P(JOB_AXIS),) * 5 + specs)
  return optimize.Solver(jax.jit(init), jax.jit(step))


def _pad(tree: Any, n: int) -> Any:
  """Repeats the last job of every leaf (leading axis) up to `n` jobs."""
  return jax.tree.map(
      lambda a: jnp.concatenate([a, jnp.repeat(a[-1:], n - len(a), axis=0)]) if n > len(a) else a,
      tree)


def minimize_batch(
    solver: optimize.Solver,
    x0: jnp.ndarray,
    *args: Any,
    in_axes: Sequence[int | None],
    iterations: int,
    log_every: int = 10,
    stall_iterations: int = 0,
    stall_tolerance: float = 0.0,
    mesh: Mesh | None = None,
) -> BatchResult:
  """`optimize.minimize` for independent jobs, all in one compiled program.

  Each job has its own L-BFGS state, line search and best iterate (vmap over
  `solver.step`), so its result equals what `minimize` gives for it alone, up to
  floating-point rounding. A job whose loss or iterate turns non-finite is frozen at
  its best iterate while the others go on; it still takes part in the vmapped
  computation (its line search may run to its limit), and its results are dropped.
  So is a job that stalls (as in `minimize`); the run ends when no job is running.

  Args:
    solver: from `optimize.lbfgs`; its `fun(x, *args)` is the objective of one job.
    x0: the starts `[jobs, *x_shape]`.
    *args: the other arguments of `fun`: with a leading job axis where `in_axes` is
      0, shared by all jobs (e.g. the network's variables) where it is None.
    in_axes: 0 or None for each of `args`, as in `jax.vmap`.
    iterations: L-BFGS iterations of every job.
    log_every: iterations between progress lines (the least and greatest total and
      terms over the running jobs).
    stall_iterations, stall_tolerance: as in `optimize.minimize`, per job.
    mesh: a 1D mesh (e.g. `local_mesh()`) to split the jobs over its devices; they
      are padded to a multiple of its size by repeating the last job. None: the
      default device.

  Returns:
    The best iterates and the history and stop reason of each job.
  """
  in_axes = tuple(in_axes)
  if len(in_axes) != len(args) or any(a not in (0, None) for a in in_axes):
    raise ValueError(f"in_axes must hold 0 or None for each of the {len(args)} args, "
                     f"got {in_axes}")
  n_jobs = len(x0)
  batched = _batched(solver, in_axes, mesh)
  x0 = jnp.asarray(x0)
  if mesh is not None:
    n = -(-n_jobs // mesh.size) * mesh.size
    jobs, shared = NamedSharding(mesh, P(JOB_AXIS)), NamedSharding(mesh, P())
    x0 = jax.device_put(_pad(x0, n), jobs)
    args = tuple(jax.device_put(a, shared) if ax is None else jax.device_put(_pad(a, n), jobs)
                 for a, ax in zip(args, in_axes, strict=True))

  start = time.perf_counter()
  init = batched.init.lower(x0, *args).compile()
  state, best_v, aux, running_d = init(x0, *args)
  step = batched.step.lower(x0, state, x0, best_v, running_d, *args).compile()
  compile_s = time.perf_counter() - start

  value, aux = jax.device_get((best_v, aux))
  track = optimize.Tracker(value[:n_jobs], {k: v[:n_jobs] for k, v in aux.items()},
                           iterations=iterations, log_every=log_every,
                           stall_iterations=stall_iterations, stall_tolerance=stall_tolerance)
  x, best_x = x0, x0
  for i in range(1, iterations + 1):
    if not track.running.any():
      break
    x, state, best_x, best_v, running_d, value, aux = step(x, state, best_x, best_v, running_d,
                                                           *args)
    value, aux, finite = jax.device_get((value, aux, running_d))
    was_running = track.running.copy()
    track.update(i, value[:n_jobs], {k: v[:n_jobs] for k, v in aux.items()}, finite[:n_jobs])
    if (track.running != (was_running & finite[:n_jobs])).any():  # a stall: freeze on device
      running_d = jax.device_put(np.pad(track.running, (0, len(finite) - n_jobs)),
                                 running_d.sharding)
  return BatchResult(np.asarray(best_x)[:n_jobs], track.histories, track.stop_reasons,
                     compile_s)


@dataclasses.dataclass(frozen=True)
class Job:
  """One synthesis of a batch: the arguments of `synthesis.synthesize` for it.

  Attributes:
    config: a checked config; the jobs of one batch must have equal configs but for
      the loss weights (`static_key`).
    style: style spectrograms `[time_i, freq]` (network scale), one target.
    content: content spectrogram `[time, freq]` for style transfer, or None.
    seed: seed of the noise init.
  """

  config: ml_collections.ConfigDict
  style: Sequence[np.ndarray]
  content: np.ndarray | None = None
  seed: int = 0


def static_key(c: ml_collections.ConfigDict) -> str:
  """The part of a config that fixes the compiled program: all but the loss weights (JSON)."""
  d = c.to_dict()
  for k in WEIGHT_KEYS:
    d.pop(k)
  return json.dumps(d, sort_keys=True)


def synthesize_batch(
    jobs: Sequence[Job],
    *,
    n_frames: int | None = None,
    n_samples: int | None = None,
    variables: dict | None = None,
    mesh: Mesh | None = None,
) -> list[synthesis.Result]:
  """`synthesis.synthesize` for each job, all in one compiled program (`minimize_batch`).

  The jobs share one network and its variables; they may differ in loss weights,
  seeds and style and content clips. Every job needs the same output shape and
  task (texture or style transfer); style clips may differ in length (their Grams
  do not), except for `net.orientation=time`, where time frames are channels.

  Args:
    jobs: the syntheses; each result equals `synthesis.synthesize` of its job alone,
      up to floating-point rounding (exactly for a single job on one device, which
      runs unbatched).
    n_frames: output frames of every texture job (default: its longest style).
    n_samples: output samples of every job (as `synthesis.synthesize`'s).
    variables: frozen network variables (as `synthesis.synthesize`'s: needed with a
      checkpoint, else by default random, made once for all jobs).
    mesh: split the jobs over this mesh's devices (see `minimize_batch`).

  Returns:
    One result per job, in order; `compile_s` is the batch's.
  """
  if len(jobs) == 1 and (mesh is None or mesh.size == 1):
    # Nothing to batch: the plain program, so a batch of one is `synthesize`'s bytes.
    (j,) = jobs
    return [synthesis.synthesize(j.config, style=j.style, content=j.content, n_frames=n_frames,
                                 n_samples=n_samples, seed=j.seed, variables=variables)]
  keys = {static_key(j.config) for j in jobs}
  if len(keys) > 1:
    raise InputError("the jobs of one batch may differ only in loss weights, seeds and clips; "
                     f"their configs differ in: {', '.join(_differences(keys))}")
  problems = []
  for j in jobs:
    p = synthesis.problem(j.config, style=j.style, content=j.content, n_frames=n_frames,
                          n_samples=n_samples, seed=j.seed, variables=variables)
    variables = p.variables
    problems.append(p)
  # Style targets of clips of different lengths have different row counts; zero rows
  # leave them unchanged (`losses.style_target`), so pad them to a common length.
  rows = jax.tree.map(lambda *t: max(x.shape[0] for x in t), *[p.targets.gram for p in problems])
  problems = [p._replace(targets=p.targets._replace(gram=jax.tree.map(
      lambda t, r: jnp.pad(t, ((0, r - t.shape[0]), (0, 0))), p.targets.gram, rows)))
      for p in problems]
  shapes = {str(jax.tree.map(jnp.shape, (p.x0, p.args[1:]))) for p in problems}
  if len({p.fun for p in problems}) > 1 or len(shapes) > 1:
    raise InputError("the jobs of one batch need one task (texture or style transfer) and "
                     "equal output shapes; got output shapes "
                     f"{sorted({p.x0.shape for p in problems})}")
  stack = lambda *xs: jnp.stack(xs)
  c = jobs[0].config
  solver = optimize.lbfgs(problems[0].fun, solver=c.solver, history_size=c.history_size)
  res = minimize_batch(solver, jnp.stack([p.x0 for p in problems]), variables,
                       *jax.tree.map(stack, *[p.args[1:] for p in problems]),
                       in_axes=(None, 0, 0, 0), iterations=c.iterations, log_every=c.log_every,
                       stall_iterations=c.stall_iterations, stall_tolerance=c.stall_tolerance,
                       mesh=mesh)
  return [synthesis.result(problems[0].form, x, h, r, res.compile_s)
          for x, h, r in zip(res.x, res.histories, res.stop_reasons, strict=True)]


def _differences(keys: set[str]) -> list[str]:
  """The dotted config keys whose values differ between configs (`static_key`s)."""
  items = [{k: json.dumps(v) for k, v in config_lib.flatten(json.loads(key)).items()}
           for key in keys]
  return sorted(k for k in items[0] if len({d.get(k) for d in items}) > 1)
