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
    compile_seconds: time to compile `init` and `step` (near 0 from the cache).
  """

  x: jnp.ndarray
  history: dict[str, list[float]]
  stop_reason: str | None
  compile_seconds: float


def minimize(
    solver: Solver,
    x0: jnp.ndarray,
    *args: Any,
    iterations: int,
    log_every: int = 10,
    stall_iterations: int = 0,
    stall_tolerance: float = 0.0,
) -> Result:
  """Runs up to `iterations` L-BFGS iterations from `x0`, logging progress.

  Every `log_every` iterations (and at the last) it logs the iteration, the total
  and each term, the elapsed time and an estimate of the time left. A non-finite
  value or iterate stops the run; the best iterate so far is kept and the reason is
  logged and returned. So does a stall: `stall_iterations` (0: never) iterations in
  a row that each fail to lower the best value by `stall_tolerance` of it (`stalled`);
  late in long runs the line search can fail over and over, about a minute each
  on the papers' networks on a CPU, without lowering the loss.
  """
  start = time.perf_counter()
  init = solver.init.lower(x0, *args).compile()
  state, value, aux = init(x0, *args)
  step = solver.step.lower(x0, state, *args).compile()
  compile_seconds = time.perf_counter() - start

  history = {"iteration": [], "seconds": [], "total": [], **{k: [] for k in aux}}

  def record(i, seconds, value, aux):
    history["iteration"].append(i)
    history["seconds"].append(seconds)
    history["total"].append(float(value))
    for k, v in aux.items():
      history[k].append(float(v))

  record(0, 0.0, value, aux)
  x, best_x, best_value, best_i = x0, x0, float(value), 0
  stop_reason, stalls = None, 0
  if not math.isfinite(best_value):
    stop_reason = "the loss is not finite at the initial point"
    iterations = 0
  start = time.perf_counter()
  for i in range(1, iterations + 1):
    x, state, value, aux = step(x, state, *args)
    value = float(value)
    if not (math.isfinite(value) and bool(jnp.all(jnp.isfinite(x)))):
      stop_reason = (f"non-finite loss or iterate at iteration {i}; "
                     f"kept the best iterate (iteration {best_i})")
      logging.warning("stopping: %s", stop_reason)
      break
    elapsed = time.perf_counter() - start
    record(i, elapsed, value, aux)
    stalls = stalls + 1 if stalled(best_value, value, stall_tolerance) else 0
    if value <= best_value:
      best_x, best_value, best_i = x, value, i
    if stall_iterations and stalls >= stall_iterations:
      stop_reason = stall_reason(i, stall_iterations, stall_tolerance)
      logging.info("stopping: %s", stop_reason)
    if i % log_every == 0 or i == iterations or stop_reason:
      terms = " ".join(f"{k} {float(v):.4g}" for k, v in aux.items())
      logging.info("iteration %d/%d: total %.4g (%s) %.1fs elapsed, ~%.1fs left",
                   i, iterations, value, terms, elapsed, elapsed / i * (iterations - i))
    if stop_reason:
      break
  return Result(best_x, history, stop_reason, compile_seconds)


def stalled(best_value: float, value: float, tolerance: float) -> bool:
  """Whether `value` fails to lower `best_value` by `tolerance` of its magnitude."""
  return not value < best_value - tolerance * abs(best_value)


def stall_reason(iteration: int, stall_iterations: int, tolerance: float) -> str:
  """The stop reason of a stall ending at `iteration`."""
  return (f"stalled: {stall_iterations} iterations in a row (to iteration {iteration}) "
          f"lowered the best loss by less than {tolerance:g} of it")
