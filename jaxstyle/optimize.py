"""L-BFGS on the device: the one loop, and the one module that imports a solver library.

Two backends: `optax` (the default) and `jaxopt` (jaxopt.LBFGS; archived upstream).
`optax` takes its L-BFGS direction from `optax.scale_by_lbfgs` and its step from
`zoom`, a strong Wolfe line search written so that one loop evaluates the loss and its
gradient in one place: XLA then compiles the objective's gradient once per program,
where optax's own zoom search (two branches), its `value_and_grad_from_state` and the
forward pass for the terms compiled it three times and the loss twice more (BUILD.md,
"One gradient per program"). The search takes about two loss + gradient evaluations
per iteration. A cheaper backtracking search that tries the full step first (one
evaluation, like the reference's PyTorch L-BFGS) failed on a 10 s style transfer with
the papers' weights: the first full step was far too long and 30 halvings did not
recover it, while zoom reduced the loss 9x in 4 iterations.

Both minimise `fun(x, *args) -> (value, aux)` over `x` only; `args` (targets, frozen
network variables) are passed through. `start` and `iterate` are pure: the iterations
run in `jax.lax.while_loop`, whose carry (`State`) holds the best iterate, the stall
counters, the stop and the history in fixed-size buffers, so nothing leaves the device
until the caller reads it. Under `jax.vmap` every job has its own state, and a job that
stops is frozen (its carry kept) while the others go on. `Progress` is the host side:
the line a person reads every `log_every` iterations.
"""

from collections.abc import Callable
import dataclasses
import functools
import sys
import time
from typing import Any, NamedTuple

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxstyle.errors import InputError

SOLVERS = ("jaxopt", "optax")
# `State.stop`: why a run stopped (RUNNING: it has not).
RUNNING, NONFINITE_START, NONFINITE, STALLED, STUCK = 0, 1, 2, 3, 4


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class LBFGS:
  """The settings of a synthesis' L-BFGS, its fields the config keys of the same names
  (`solver`, `iterations`, ...). Frozen and hashable: static under `jit`.

  Attributes:
    solver: `optax` or `jaxopt`.
    iterations: at most this many iterations.
    history_size: the L-BFGS memory.
    stall_iterations, stall_tolerance: stop after `stall_iterations` (0: never)
      iterations in a row that each fail to lower the best value by `stall_tolerance`
      of it (`stalled`). Whatever they are, a run stops once `history_size + 1`
      iterations in a row found no step that lowers the loss (`STUCK`).
    log_every: iterations between progress lines (and between the host's reads).
  """

  solver: str = "optax"
  iterations: int = 100
  history_size: int = 10
  stall_iterations: int = 3
  stall_tolerance: float = 1e-4
  log_every: int = 10

  def __post_init__(self):
    if self.solver not in SOLVERS:
      raise InputError(f"config.solver must be one of {SOLVERS}, got {self.solver!r}")
    for key in ("iterations", "history_size", "log_every"):
      if not getattr(self, key) > 0:
        raise InputError(f"config.{key} must be positive, got {getattr(self, key)!r}")
    for key in ("stall_iterations", "stall_tolerance"):
      if not getattr(self, key) >= 0:
        raise InputError(f"config.{key} must not be negative, got {getattr(self, key)!r}")
    if self.solver == "jaxopt":
      jaxopt_module()


class Solver(NamedTuple):
  """Pure L-BFGS functions (jit them, or call them inside a jitted function).

  init(x, *args) -> (state, value, aux): the solver state at `x`.
  step(x, state, *args) -> (x, state, value, aux): one L-BFGS iteration (its line
    search may evaluate `fun` several times); `value` and `aux` are at the new `x`.
  deferred: `init` does not evaluate `fun` (its `value` is +inf and its `aux` zeros):
    the first `step` evaluates it at `x` and does not move, so that `fun` is compiled
    only in `step`.
  """

  init: Callable[..., Any]
  step: Callable[..., Any]
  deferred: bool = False


def jaxopt_module():
  """The jaxopt module, imported only when chosen: an optional extra, archived upstream."""
  try:
    import jaxopt
  except ImportError as e:
    raise InputError(f"config.solver=jaxopt needs jaxopt, an optional extra, which failed to "
                     f"import ({e}): pip install 'jaxstyle[jaxopt]', or use solver=optax") from None
  return jaxopt


@functools.cache
def lbfgs(fun: Callable[..., Any], *, solver: str = "optax", history_size: int = 10) -> Solver:
  """L-BFGS for `fun(x, *args) -> (scalar value, aux)`; cached per `fun`, so hashable.

  With `optax`, `x` is one array and the solver state carries the value, gradient and
  `aux` of the current iterate, so that `fun` is evaluated only in `zoom`, the start
  included (`deferred`: the first step is a search of one trial along a zero
  direction); an iterate whose gradient is not finite gives a NaN value, which ends
  the run there.
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
    direction = optax.scale_by_lbfgs(memory_size=history_size)
    value_and_grad = jax.value_and_grad(fun, has_aux=True)

    def init(x, *args):
      value, aux = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype),
                                jax.eval_shape(fun, x, *args))
      value = value + jnp.inf
      return (direction.init(x), value, jnp.zeros_like(x), aux, jnp.bool_(True)), value, aux

    def step(x, state, *args):
      inner, value, grad, aux, fresh = state
      finite = jnp.all(jnp.isfinite(grad))
      # Fresh: no direction yet (a zero one), and the search's one trial is `x` itself.
      d, inner = jax.lax.cond(fresh, lambda: (jnp.zeros_like(x), inner),
                              lambda: direction.update(grad, inner, x))
      x, value, grad, aux = zoom(lambda y: value_and_grad(y, *args), x, value, grad, aux, -d,
                                 max_steps=jnp.where(fresh, 1, 20))
      value = jnp.where(finite, value, jnp.nan)  # no way on: `iterate` stops the run
      return x, (inner, value, grad, aux, jnp.bool_(False)), value, aux

  else:
    raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
  return Solver(init, step, deferred=solver == "optax")


class Point(NamedTuple):
  """A point of a line search: its step `t` along the direction, the iterate there, the
  loss, its gradient, `aux`, and the slope (the gradient along the direction)."""

  t: jnp.ndarray
  x: jnp.ndarray
  value: jnp.ndarray
  grad: jnp.ndarray
  aux: Any
  slope: jnp.ndarray


def zoom(value_and_grad: Callable[..., Any], x: jnp.ndarray, value: jnp.ndarray,
         grad: jnp.ndarray, aux: Any, direction: jnp.ndarray, *, decrease: float = 1e-4,
         curvature: float = 0.9, max_steps=20) -> tuple:
  """A step along `direction` from `x` that meets the strong Wolfe conditions; pure.

  Algorithms 3.5 and 3.6 of Nocedal & Wright (Numerical Optimization, 2006) as one
  `jax.lax.while_loop` whose body evaluates `value_and_grad(y) -> ((value, aux), grad)`
  once: the first trial step is 1, then it doubles until the loss rises or the slope
  turns; inside that bracket the trial is the minimiser of the cubic through its ends
  (kept 10% of the bracket from them, else its middle). The search ends at a step with
  sufficient decrease (`decrease`) and small slope (`curvature`), or after `max_steps`
  evaluations with the lowest point of sufficient decrease found (`x` itself if none);
  a trial whose loss or slope is not finite counts as too long a step.
  A `direction` that does not descend is replaced by the gradient's opposite, scaled
  to unit length at most.

  Args:
    x, grad, direction: arrays of one shape; `value`, `aux`: `fun`'s at `x`.
    max_steps: may be traced.

  Returns:
    `(x, value, grad, aux)` at the step taken.
  """
  dot = lambda a, b: jnp.sum(a * b)  # noqa: E731
  descent = -grad * jnp.minimum(1.0, 1.0 / (jnp.linalg.norm(grad) + 1e-30))
  direction = jnp.where(dot(grad, direction) < 0, direction, descent)
  slope0 = dot(grad, direction)
  start = Point(jnp.zeros_like(value), x, value, grad, aux, slope0)

  def evaluate(t):
    y = x + t * direction
    (v, a), g = value_and_grad(y)
    # The slope leaves out where the direction is 0: along a zero direction (a
    # deferred start) it is 0 even where the gradient is not finite.
    return Point(t, y, v, g, a, dot(jnp.where(direction == 0, 0.0, g), direction))

  def body(c):
    i, t, lo, hi, bracketed, _ = c
    p = evaluate(t)
    worse = ~jnp.isfinite(p.value) | ~jnp.isfinite(p.slope) | (
        p.value > value + decrease * p.t * slope0) | (p.value >= lo.value)
    done = ~worse & (jnp.abs(p.slope) <= -curvature * slope0)
    # The slope at the new low point turns towards the old low point (or, before a
    # bracket, upwards): the old low point bounds the bracket from then on.
    turns = ~worse & (p.slope * jnp.where(bracketed, hi.t - lo.t, 1.0) >= 0)
    pick = lambda cond, a, b: jax.tree.map(  # noqa: E731
        lambda u, v: jnp.where(cond, u, v), a, b)
    hi = pick(worse, p, pick(turns, lo, hi))
    lo = pick(worse, lo, p)
    bracketed = bracketed | worse | turns
    return i + 1, jnp.where(bracketed, cubic(lo, hi), 2.0 * t), lo, hi, bracketed, done

  def running(c):
    i, _, lo, hi, bracketed, done = c
    collapsed = bracketed & (jnp.abs(hi.t - lo.t) <= 1e-7 * jnp.maximum(lo.t, hi.t))
    return (i < max_steps) & ~done & ~collapsed

  one = jnp.ones_like(value)
  c = (jnp.int32(0), one, start, start, jnp.bool_(False), jnp.bool_(False))
  _, _, lo, _, _, _ = jax.lax.while_loop(running, body, c)
  return lo.x, lo.value, lo.grad, lo.aux


def cubic(a: Point, b: Point) -> jnp.ndarray:
  """The step minimising the cubic through `a` and `b` (their values and slopes),
  kept at least 10% of the interval from its ends; the middle where there is none."""
  d1 = a.slope + b.slope - 3.0 * (a.value - b.value) / (a.t - b.t)
  square = d1 * d1 - a.slope * b.slope
  d2 = jnp.sign(b.t - a.t) * jnp.sqrt(jnp.maximum(square, 0.0))
  t = b.t - (b.t - a.t) * (b.slope + d2 - d1) / (b.slope - a.slope + 2.0 * d2)
  low, high = jnp.minimum(a.t, b.t), jnp.maximum(a.t, b.t)
  margin = 0.1 * (high - low)
  inside = (square >= 0) & jnp.isfinite(t) & (t >= low + margin) & (t <= high - margin)
  return jnp.where(inside, t, 0.5 * (low + high))


class State(NamedTuple):
  """The carry of the L-BFGS loop of one run (a batch has a leading job axis on each).

  Attributes:
    x, inner, value, aux: the iterate, the solver's state, its value and terms.
    iteration: the iterations done (int32; -1 while a `deferred` solver has not yet
      evaluated the start).
    best_x, best_value, best_iteration: the best iterate (lowest finite value) so far.
    stalls: iterations in a row that did not lower the best value enough.
    still: iterations in a row whose line search found no lower point (`x` stayed).
    stop: `RUNNING`, or why the run stopped (`NONFINITE_START`, `NONFINITE`, `STALLED`,
      `STUCK`).
    stop_at: the iteration it stopped at.
    history: `{"total": [iterations + 1], term: [iterations + 1]}`: the value and each
      term at iterations 0 (the start) to `iteration`, NaN after.
  """

  x: Any
  inner: Any
  value: jnp.ndarray
  aux: dict
  iteration: jnp.ndarray
  best_x: Any
  best_value: jnp.ndarray
  best_iteration: jnp.ndarray
  stalls: jnp.ndarray
  still: jnp.ndarray
  stop: jnp.ndarray
  stop_at: jnp.ndarray
  history: dict


def start(solver: Solver, x0: jnp.ndarray, args: tuple, settings: LBFGS) -> State:
  """The loop's state at `x0`: iteration 0, or -1 for a `deferred` solver, whose first
  `iterate` step evaluates `x0` (iteration 0); pure. A non-finite value at `x0` stops
  the run there (`NONFINITE_START`)."""
  inner, value, aux = solver.init(x0, *args)
  blank = jnp.full(settings.iterations + 1, jnp.nan, jnp.float32)
  history = {k: blank.at[0].set(v) for k, v in {"total": value, **aux}.items()}
  zero = jnp.zeros((), jnp.int32)
  stop = jnp.where(jnp.isfinite(value) | solver.deferred, RUNNING,
                   NONFINITE_START).astype(jnp.int32)
  return State(x0, inner, value, aux, zero - solver.deferred, x0, value, zero, zero, zero, stop,
               zero, history)


def iterate(solver: Solver, state: State, args: tuple, settings: LBFGS, until) -> State:
  """Runs L-BFGS iterations of `state` until iteration `until` (at most
  `settings.iterations`, may be traced) or its stop; pure (`jax.lax.while_loop`).

  An iteration whose value or iterate is not finite stops the run without taking it
  (the best iterate so far stays); an iteration that completes a stall (`stalled`,
  `settings.stall_iterations` in a row) is taken, then the run stops. So does one that
  is the `history_size + 1`-th in a row not to move (`STUCK`): with optax, each such
  iteration puts a zero step into L-BFGS's memory (a pair it skips), so after
  `history_size` of them the direction is the gradient's opposite and every further
  iteration would repeat the last, each spending the line search's 20 evaluations. A
  `deferred` solver's first step is iteration 0, the evaluation of the start.
  """
  until = jnp.minimum(until, settings.iterations)
  tolerance = settings.stall_tolerance

  def running(s):
    return (s.stop == RUNNING) & (s.iteration < until)

  def body(s):
    x, inner, value, aux = solver.step(s.x, s.inner, *args)
    i = s.iteration + 1
    first = i == 0  # a deferred solver's evaluation of the start
    finite = jnp.isfinite(value) & jax.tree.reduce(
        jnp.logical_and, jax.tree.map(lambda a: jnp.all(jnp.isfinite(a)), x))
    better = finite & (value <= s.best_value)
    stalls = jnp.where(~first & stalled(s.best_value, value, tolerance), s.stalls + 1, 0)
    stall = finite & (settings.stall_iterations > 0) & (stalls >= settings.stall_iterations)
    moved = jax.tree.reduce(jnp.logical_or, jax.tree.map(lambda a, b: jnp.any(a != b), x, s.x))
    still = jnp.where(first | moved, 0, s.still + 1)
    stuck = finite & ~stall & (still > settings.history_size)
    pick = lambda new, old: jax.tree.map(  # noqa: E731
        lambda a, b: jnp.where(better, a, b), new, old)
    # A non-finite step stops the run where it was: its iteration is not counted, and the
    # best iterate stays (the new x and solver state are no longer used).
    return State(
        x, inner, value, aux, jnp.where(finite | first, i, s.iteration), pick(x, s.best_x),
        pick(value, s.best_value), pick(i, s.best_iteration), stalls.astype(jnp.int32),
        still.astype(jnp.int32),
        jnp.where(finite, jnp.where(stall, STALLED, jnp.where(stuck, STUCK, RUNNING)),
                  jnp.where(first, NONFINITE_START, NONFINITE)).astype(jnp.int32),
        jnp.where(stall | stuck | ~finite, i, 0).astype(jnp.int32),
        {k: h.at[i].set(jnp.where(finite, value if k == "total" else aux[k], jnp.nan))
         for k, h in s.history.items()})

  return jax.lax.while_loop(running, body, state)


def minimize(fun: Callable[..., Any], x0: jnp.ndarray, *args: Any, settings: LBFGS) -> State:
  """`settings.iterations` L-BFGS iterations of `fun` from `x0` (or fewer, to a stop),
  in one program; pure. The best iterate is `state.best_x`."""
  solver = lbfgs(fun, solver=settings.solver, history_size=settings.history_size)
  state = start(solver, x0, args, settings)
  return iterate(solver, state, args, settings, settings.iterations)


def stalled(best_value, value, tolerance: float):
  """Whether `value` fails to lower `best_value` by `tolerance` of its magnitude."""
  return ~(value < best_value - tolerance * jnp.abs(best_value))


class Summary(NamedTuple):
  """What the host reads of a `State` every `log_every` iterations: small arrays."""

  iteration: np.ndarray
  value: np.ndarray
  aux: dict
  stop: np.ndarray
  stop_at: np.ndarray
  best_iteration: np.ndarray


def summary(state: State) -> Summary:
  """The `Summary` part of `state` (on the device; `jax.device_get` it)."""
  return Summary(state.iteration, state.value, state.aux, state.stop, state.stop_at,
                 state.best_iteration)


def stop_reason(stop: int, stop_at: int, settings: LBFGS, best_iteration: int) -> str | None:
  """The sentence for a `State.stop` code, or None for a run that did not stop early."""
  if stop == NONFINITE_START:
    return "the loss is not finite at the initial point"
  if stop == NONFINITE:
    return (f"non-finite loss or iterate at iteration {stop_at}; kept the best iterate "
            f"(iteration {best_iteration})")
  if stop == STALLED:
    return (f"stalled: {settings.stall_iterations} iterations in a row (to iteration "
            f"{stop_at}) lowered the best loss by less than {settings.stall_tolerance:g} of it")
  if stop == STUCK:
    return (f"stuck: {settings.history_size + 1} iterations in a row (to iteration {stop_at}) "
            "found no step that lowers the loss")
  return None


def history(state_history: dict, iteration: int) -> dict[str, list[float]]:
  """A run's history as lists: `iteration` 0..`iteration`, `total` and each term."""
  n = int(iteration) + 1
  return {"iteration": list(range(n)),
          **{k: [float(v) for v in np.asarray(h)[:n]] for k, h in state_history.items()}}


class Progress:
  """The progress of one or more runs as a person reads it, every `log_every` iterations.

  One line: `what` (e.g. "waveform stage, "), iteration, total loss (least..greatest
  over the running jobs), elapsed, estimated time left; on a terminal it rewrites
  itself in place, elsewhere (a log, CI) each is a line of its own. Each term's value
  is logged at verbosity 1 (`--verbosity=1`), and each stop once, with its reason.
  """

  def __init__(self, settings: LBFGS, *, jobs: int = 1, stream=None, what: str = ""):
    self.settings, self.jobs, self.what = settings, jobs, what
    self._stream = stream or sys.stderr
    self._start = time.perf_counter()
    self._told: set[int] = set()
    self._open = False

  def update(self, s: Summary) -> None:
    """Shows the runs' state after a chunk of iterations (`s` read from the device)."""
    elapsed = time.perf_counter() - self._start
    running = np.asarray(s.stop) == RUNNING
    i = int(np.max(s.iteration))
    n = self.settings.iterations
    live = running | (np.asarray(s.iteration) == i)
    span = lambda v: (f"{v.min():.4g}..{v.max():.4g}" if v.min() != v.max()  # noqa: E731
                      else f"{v.min():.4g}")
    total = span(np.asarray(s.value)[live])
    jobs = f", {running.sum()}/{self.jobs} jobs running" if self.jobs > 1 else ""
    left = elapsed / max(i, 1) * (n - i) if running.any() else 0.0
    self._line(f"{self.what}iteration {i}/{n}: loss {total}{jobs}, {elapsed:.1f} s, "
               f"~{left:.0f} s left")
    logging.vlog(1, "iteration %d: %s", i, " ".join(
        f"{k} {span(np.asarray(v)[live])}" for k, v in s.aux.items()))
    for j in np.flatnonzero(~running):
      if j not in self._told:
        self._told.add(j)
        reason = stop_reason(int(s.stop[j]), int(s.stop_at[j]), self.settings,
                             int(s.best_iteration[j]))
        if reason:
          self._end()
          logging.info("%sstopping: %s", f"job {j} " if self.jobs > 1 else "", reason)

  def _line(self, text: str) -> None:
    if self._stream.isatty():
      self._stream.write("\r" + text.ljust(79)[:max(79, len(text))])
      self._open = True
    else:
      self._stream.write(text + "\n")
    self._stream.flush()

  def _end(self) -> None:
    if self._open:
      self._stream.write("\n")
      self._open = False

  def close(self) -> None:
    """Ends an in-place line."""
    self._end()
