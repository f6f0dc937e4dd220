"""L-BFGS behind one small interface; the one module that imports a solver library.

Two backends: `jaxopt` (jaxopt.LBFGS; archived upstream) and `optax` (optax.lbfgs,
its successor). Both use their zoom (strong Wolfe) line search, about two loss +
gradient evaluations per iteration. A cheaper backtracking search that tries the
full step first (one evaluation, like the reference's PyTorch L-BFGS) failed on a
10 s style transfer with the papers' weights: the first full step was far too long
and 30 halvings did not recover it, while zoom reduced the loss 9x in 4 iterations.
Both minimise
`fun(x, *args) -> (value, aux)` over `x` only; `args` (targets, frozen network
variables) are passed through, so one compiled step serves every call of one shape.
"""

from collections.abc import Callable
import dataclasses
import functools
import math
import time
from typing import Any, NamedTuple

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxstyle.errors import InputError

SOLVERS = ("jaxopt", "optax")


class Solver(NamedTuple):
  """Jitted L-BFGS functions.

  init(x, *args) -> (state, value, aux): the solver state at `x`.
  step(x, state, *args) -> (x, state, value, aux): one L-BFGS iteration (its line
    search may evaluate `fun` several times); `value` and `aux` are at the new `x`.
  """

  init: Callable[..., Any]
  step: Callable[..., Any]


def jaxopt_module():
  """The jaxopt module, imported only when chosen: an optional extra, archived upstream."""
  try:
    import jaxopt
  except ImportError as e:
    raise InputError(f"config.solver=jaxopt needs jaxopt, an optional extra, which failed to "
                     f"import ({e}): pip install 'jaxstyle[jaxopt]', or use solver=optax") from None
  return jaxopt


@functools.cache
def lbfgs(fun: Callable[..., Any], *, solver: str = "jaxopt", history_size: int = 10) -> Solver:
  """L-BFGS for `fun(x, *args) -> (scalar value, aux)`; cached per `fun`, so hashable.

  The `optax` backend evaluates `fun` once more per iteration (a forward pass, no
  gradient) to report `aux` at the new iterate; its line search does not carry it.
  """
  if solver == "jaxopt":
    impl = jaxopt_module().LBFGS(fun=fun, has_aux=True, history_size=history_size)

    def init(x, *args):
      state = impl.init_state(x, *args)
      return state, state.value, state.aux

    def step(x, state, *args):
      x, state = impl.update(x, state, *args)
      return x, state, state.value, state.aux

  elif solver == "optax":
    impl = optax.lbfgs(memory_size=history_size)

    def init(x, *args):
      value, aux = fun(x, *args)
      return impl.init(x), value, aux

    def step(x, state, *args):
      value_fn = lambda y: fun(y, *args)[0]  # noqa: E731
      value, grad = optax.value_and_grad_from_state(value_fn)(x, state=state)
      updates, state = impl.update(grad, state, x, value=value, grad=grad, value_fn=value_fn)
      x = optax.apply_updates(x, updates)
      value, aux = fun(x, *args)
      return x, state, value, aux

  else:
    raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
  return Solver(jax.jit(init), jax.jit(step))


@dataclasses.dataclass
class Result:
  """What `minimize` returns.

  Attributes:
    x: the best iterate (lowest finite value).
    history: per iteration (0 = the start), lists of `iteration`, `seconds`
      (since the first step started), `total` and each `aux` term.
    stop_reason: why it stopped before `iterations`, or None.
    compile_s: time to compile `init` and `step` (near 0 from the cache).
  """

  x: jnp.ndarray
  history: dict[str, list[float]]
  stop_reason: str | None
  compile_s: float


class Tracker:
  """The host side of one or more L-BFGS runs: histories, best iterations, stops, progress.

  `minimize` (one run) and `batch.minimize_batch` (a vmapped batch) both record each
  iteration here. A run stops when its value or iterate turns non-finite (its last
  recorded iteration stays the best) or when it stalls: `stall_iterations` (0: never)
  iterations in a row that each fail to lower its best value by `stall_tolerance` of
  it (`stalled`).

  Attributes:
    histories: per run, lists of `iteration`, `seconds` (since the first step
      started), `total` and each `aux` term, from iteration 0 (the start).
    stop_reasons: per run, why it stopped before `iterations`, or None.
    running: `[runs]` bool, the runs still going.
  """

  def __init__(self, value: np.ndarray, aux: dict[str, np.ndarray], *, iterations: int,
               log_every: int = 10, stall_iterations: int = 0, stall_tolerance: float = 0.0):
    """`value` `[runs]` and `aux` `{term: [runs]}` are those at the start."""
    value = np.asarray(value, np.float64)
    self.iterations, self.log_every = iterations, log_every
    self.stall_iterations, self.stall_tolerance = stall_iterations, stall_tolerance
    self.histories = [{"iteration": [0], "seconds": [0.0], "total": [float(value[j])],
                       **{k: [float(v[j])] for k, v in aux.items()}} for j in range(len(value))]
    self.running = np.isfinite(value)
    self.stop_reasons = [None if ok else "the loss is not finite at the initial point"
                         for ok in self.running]
    self.best_value, self.best_iteration = value.copy(), np.zeros(len(value), int)
    self._stalls = np.zeros(len(value), int)
    self._start = time.perf_counter()

  def update(self, i: int, value: np.ndarray, aux: dict[str, np.ndarray],
             finite: np.ndarray) -> np.ndarray:
    """Records iteration `i` of the running runs; returns `[runs]`: which improved.

    `finite` `[runs]`: whether each run's value and iterate are finite.
    """
    elapsed = time.perf_counter() - self._start
    better = np.zeros(len(self.running), bool)
    label = (lambda j: "") if len(self.running) == 1 else (lambda j: f"job {j} ")  # noqa: E731
    for j in np.flatnonzero(self.running):
      if not finite[j]:
        self._stop(j, f"non-finite loss or iterate at iteration {i}; kept the best iterate "
                   f"(iteration {self.best_iteration[j]})", logging.WARNING, label(j))
        continue
      v = float(value[j])
      h = self.histories[j]
      h["iteration"].append(i)
      h["seconds"].append(elapsed)
      h["total"].append(v)
      for k, a in aux.items():
        h[k].append(float(a[j]))
      self._stalls[j] = self._stalls[j] + 1 if stalled(self.best_value[j], v,
                                                        self.stall_tolerance) else 0
      if v <= self.best_value[j]:
        self.best_value[j], self.best_iteration[j], better[j] = v, i, True
      if self.stall_iterations and self._stalls[j] >= self.stall_iterations:
        self._stop(j, stall_reason(i, self.stall_iterations, self.stall_tolerance),
                   logging.INFO, label(j))
    if i % self.log_every == 0 or i == self.iterations or not self.running.any():
      live = [j for j, h in enumerate(self.histories) if h["iteration"][-1] == i]
      span = lambda xs: (f"{min(xs):.4g}..{max(xs):.4g}" if len(set(xs)) > 1  # noqa: E731
                         else f"{xs[0]:.4g}") if xs else "-"
      terms = " ".join(f"{k} {span([self.histories[j][k][-1] for j in live])}" for k in aux)
      jobs = (f", {self.running.sum()}/{len(self.running)} jobs running"
              if len(self.running) > 1 else "")
      logging.info("iteration %d/%d: total %s (%s)%s, %.1fs elapsed, ~%.1fs left", i,
                   self.iterations, span([self.histories[j]["total"][-1] for j in live]), terms,
                   jobs, elapsed, elapsed / i * (self.iterations - i))
    return better

  def _stop(self, j: int, reason: str, level: int, label: str) -> None:
    self.stop_reasons[j], self.running[j] = reason, False
    logging.log(level, "%sstopping: %s", label, reason)


def minimize(
    solver: Solver,
    x0: jnp.ndarray,
    *args: Any,
    iterations: int,
    log_every: int = 10,
    stall_iterations: int = 0,
    stall_tolerance: float = 0.0,
) -> Result:
  """Runs up to `iterations` L-BFGS iterations from `x0`, logging progress (`Tracker`).

  Every `log_every` iterations (and at the last) it logs the iteration, the total
  and each term, the elapsed time and an estimate of the time left. A non-finite
  value or iterate stops the run; the best iterate so far is kept and the reason is
  logged and returned. So does a stall (see `Tracker`); late in long runs the line
  search can fail over and over, about a minute each on the papers' networks on a
  CPU, without lowering the loss.
  """
  start = time.perf_counter()
  init = solver.init.lower(x0, *args).compile()
  state, value, aux = init(x0, *args)
  step = solver.step.lower(x0, state, *args).compile()
  compile_s = time.perf_counter() - start

  track = Tracker(np.reshape(value, 1), {k: np.reshape(v, 1) for k, v in aux.items()},
                  iterations=iterations, log_every=log_every,
                  stall_iterations=stall_iterations, stall_tolerance=stall_tolerance)
  x, best_x = x0, x0
  for i in range(1, iterations + 1):
    if not track.running[0]:
      break
    x, state, value, aux = step(x, state, *args)
    finite = math.isfinite(float(value)) and bool(jnp.all(jnp.isfinite(x)))
    if track.update(i, np.reshape(value, 1), {k: np.reshape(v, 1) for k, v in aux.items()},
                    np.array([finite]))[0]:
      best_x = x
  return Result(best_x, track.histories[0], track.stop_reasons[0], compile_s)


def stalled(best_value: float, value: float, tolerance: float) -> bool:
  """Whether `value` fails to lower `best_value` by `tolerance` of its magnitude."""
  return not value < best_value - tolerance * abs(best_value)


def stall_reason(iteration: int, stall_iterations: int, tolerance: float) -> str:
  """The stop reason of a stall ending at `iteration`."""
  return (f"stalled: {stall_iterations} iterations in a row (to iteration {iteration}) "
          f"lowered the best loss by less than {tolerance:g} of it")
