"""The optax backend's L-BFGS: its zoom line search against the strong Wolfe conditions
and closed forms, and the whole solver against Rosenbrock's known minimum."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstyle import optimize


def rosenbrock(x):
  """`[n]` -> (value, {"value": value}); its minimum 0 at all ones."""
  v = jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
  return v, {"value": v}


def search(fun, x, direction):
  value_and_grad = jax.value_and_grad(fun, has_aux=True)
  (value, aux), grad = value_and_grad(x)
  y, v, g, a = optimize.zoom(value_and_grad, x, value, grad, aux, direction)
  return value, grad, y, v, g, a


@pytest.mark.parametrize("start", [[-1.2, 1.0], [0.5, -0.3, 2.0, 1.1], [2.0, 2.0, 2.0]])
def test_zoom_meets_the_strong_wolfe_conditions(start):
  """Along the steepest descent of Rosenbrock (a first trial step of 1 far too long):
  sufficient decrease and a small slope at the step taken, its value, gradient and
  aux those of the point it returns."""
  x = jnp.asarray(start)
  _, grad, _, _, _, _ = search(rosenbrock, x, jnp.zeros_like(x))
  d = -grad
  value, grad, y, v, g, a = search(rosenbrock, x, d)
  t = float(jnp.linalg.norm(y - x) / jnp.linalg.norm(d))
  slope0, slope = float(grad @ d), float(g @ d)
  assert t > 0
  np.testing.assert_allclose(y, x + t * d, rtol=1e-4)
  assert float(v) <= float(value) + 1e-4 * t * slope0
  assert abs(slope) <= 0.9 * abs(slope0)
  np.testing.assert_allclose(v, rosenbrock(y)[0], rtol=1e-6)
  np.testing.assert_allclose(a["value"], v, rtol=1e-6)
  np.testing.assert_allclose(g, jax.grad(lambda z: rosenbrock(z)[0])(y), rtol=1e-4, atol=1e-4)


def test_zoom_on_a_quadratic_takes_the_line_minimiser():
  """On `x'Ax/2` along `-g`, a step of 1 overshoots (the minimiser is at
  t* = g'g / g'Ag, here 0.4): the cubic through the bracket's ends is the quadratic
  itself, so the second trial is t*, where the slope is 0."""
  a = jnp.diag(jnp.array([2.5, 2.5, 2.5]))
  fun = lambda x: (0.5 * x @ a @ x, {})  # noqa: E731
  x = jnp.array([1.0, -2.0, 0.5])
  _, grad, y, v, _, _ = search(fun, x, -a @ x)
  t_star = float(grad @ grad / (grad @ a @ grad))
  np.testing.assert_allclose(t_star, 0.4, rtol=1e-6)
  np.testing.assert_allclose(y, x - t_star * grad, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(v, 0.0, atol=1e-5)


def test_zoom_turns_an_ascent_direction_round():
  """A direction along which the loss rises is replaced by the opposite of the
  gradient: the loss still falls."""
  x = jnp.array([-1.2, 1.0])
  value, grad, _, v, _, _ = search(rosenbrock, x, jnp.zeros_like(x))
  _, _, _, v_up, _, _ = search(rosenbrock, x, grad)
  assert float(v_up) < float(value)


def test_lbfgs_finds_the_minimum_of_rosenbrock():
  """From the classic start (-1.2, 1) and a 5-dimensional one: the minimum at all ones."""
  settings = optimize.LBFGS(iterations=100)
  for start in ([-1.2, 1.0], [-1.2, 1.0, -0.5, 0.3, 2.0]):
    state = jax.jit(lambda x: optimize.minimize(rosenbrock, x, settings=settings))(
        jnp.asarray(start))
    np.testing.assert_allclose(state.best_x, np.ones(len(start)), atol=1e-3)
    assert float(state.best_value) < 1e-6


def test_one_program_holds_the_loss_and_its_gradient_once():
  """A compiled L-BFGS run holds the loss (cosh) and its gradient (sinh) once: in the
  line search, which evaluates the start too (`deferred`)."""

  def fun(x):
    v = jnp.sum(jnp.cosh(x))
    return v, {"value": v}

  settings = optimize.LBFGS(iterations=5)
  text = jax.jit(lambda x: optimize.minimize(fun, x, settings=settings)).lower(
      jnp.ones(3)).as_text()
  assert (text.count("cosh"), text.count("sinh")) == (1, 1)


def test_a_start_that_is_not_finite_stops_the_run_at_iteration_0():
  settings = optimize.LBFGS(iterations=5)
  state = jax.jit(lambda x: optimize.minimize(rosenbrock, x, settings=settings))(
      jnp.array([jnp.nan, 1.0]))
  assert int(state.stop) == optimize.NONFINITE_START and int(state.iteration) == 0
  assert optimize.stop_reason(int(state.stop), int(state.stop_at), settings,
                              int(state.best_iteration)).startswith("the loss is not finite")


def test_a_run_whose_line_search_finds_no_lower_point_stops_stuck():
  """`1000 + |x|^2` in float32: once `x` is near 0 no step changes the value, so the
  line search finds no lower point and the iterate stays. With the stall stop off, the
  run stops `STUCK` at the `history_size + 1`-th such iteration in a row, long before
  its iterations are spent, with its best iterate kept."""

  def fun(x):
    v = 1000.0 + jnp.sum(x**2)
    return v, {"value": v}

  settings = optimize.LBFGS(iterations=200, stall_iterations=0, history_size=4)
  state = jax.jit(lambda x: optimize.minimize(fun, x, settings=settings))(jnp.ones(3))
  n = int(state.iteration)
  assert int(state.stop) == optimize.STUCK and int(state.stop_at) == n < 50
  total = np.asarray(state.history["total"])[: n + 1]
  assert total[0] == 1003.0 and np.all(total[n - settings.history_size - 1:] == 1000.0)
  assert float(state.best_value) == 1000.0 and float(jnp.sum(state.best_x**2)) < 1e-3
  assert optimize.stop_reason(int(state.stop), int(state.stop_at), settings,
                              int(state.best_iteration)).startswith("stuck: 5 iterations")
