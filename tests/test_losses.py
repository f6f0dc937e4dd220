"""Gram and losses against closed forms; gradients against finite differences."""

import jax
from jax import test_util as jtu
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstyle import config
from jaxstyle import losses
from jaxstyle import nets
from jaxstyle import synthesis

RNG = np.random.default_rng(0)


def test_gram_closed_form():
  f = RNG.standard_normal((2, 9, 4)).astype(np.float32)
  flat = f.reshape(18, 4)
  np.testing.assert_allclose(jax.jit(losses.gram)(f), flat.T @ flat / 18, rtol=1e-5)


def test_multi_texture_gram_is_the_concatenation():
  a = RNG.standard_normal((1, 10, 3)).astype(np.float32)
  b = 3 + RNG.standard_normal((1, 30, 3)).astype(np.float32)
  both = np.concatenate([a[0], b[0]])
  g = losses.gram([a, b])
  np.testing.assert_allclose(g, both.T @ both / 40, rtol=1e-5)
  mean_of_grams = (losses.gram(a) + losses.gram(b)) / 2
  assert not np.allclose(g, mean_of_grams, rtol=0.05)


@pytest.mark.parametrize("positions, style_positions, channels", [
    (6, 4, 3),  # Grams: N + R >= C
    (6, 9, 40),  # position products: N + R < C
])
def test_style_loss_closed_form(positions, style_positions, channels):
  f = RNG.standard_normal((1, positions, channels)).astype(np.float32)
  s = RNG.standard_normal((style_positions, channels)).astype(np.float32)
  target = losses.style_target(s)
  np.testing.assert_allclose(target.T @ target, s.T @ s / style_positions, rtol=1e-5, atol=1e-6)
  g = f[0].T @ f[0] / positions
  expected = np.mean((g - s.T @ s / style_positions) ** 2)
  np.testing.assert_allclose(jax.jit(losses.style_loss)(f, target), expected, rtol=1e-4)
  padded = jnp.pad(target, ((0, 5), (0, 0)))  # zero rows leave the target unchanged
  np.testing.assert_allclose(losses.style_loss(f, padded), expected, rtol=1e-4)
  grad = jax.grad(losses.style_loss)(jnp.asarray(f), target)
  closed = 4 / (positions * channels**2) * f[0] @ (g - s.T @ s / style_positions)
  np.testing.assert_allclose(grad[0], closed, rtol=1e-3, atol=1e-6)


def test_content_and_bound_closed_forms():
  f = RNG.standard_normal((1, 6, 3)).astype(np.float32)
  np.testing.assert_allclose(losses.content_loss(f, 2 * f), np.mean(f**2), rtol=1e-5)
  x = jnp.array([[-0.5, 0.2], [1.0, 2.2]])
  np.testing.assert_allclose(losses.bound_loss(x), np.hypot(0.5, 1.2), rtol=1e-6)


def test_bound_gradient_is_zero_inside_and_finite():
  g = jax.grad(losses.bound_loss)(jnp.full((3, 3), 0.5))
  np.testing.assert_array_equal(g, 0.0)


def test_objective_gradient_matches_finite_differences():
  c = config.base()
  c.net.channels, c.net.kernel_size, c.content_layers = 6, 3, "relu2"
  net = nets.from_config(c)
  style, content = (0.5 * RNG.random((16, 12)) for _ in range(2))
  x = jnp.asarray(RNG.uniform(-0.1, 1.1, (16, 12)))  # also exercises the bound term
  variables = nets.random_variables(c, 16, 12)
  grams = {k: losses.style_target(v) for k, v in synthesis.features(
      net, variables, style, ("relu1", "relu2")).items()}
  feats = synthesis.features(net, variables, content, ("relu2",))
  fun = synthesis.objective(net, ("relu1", "relu2"), ("relu2",))
  c.style_weight, c.bound_weight = 1e3, 1e-1
  total = lambda x: fun(x, variables, grams, feats, synthesis.weights(c))[0]
  jtu.check_grads(total, (x,), order=1, modes=["rev"], atol=2e-2, rtol=2e-2, eps=1e-3)
