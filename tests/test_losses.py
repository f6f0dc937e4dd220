"""Gram and losses against closed forms; gradients against finite differences."""

import jax
from jax import test_util as jtu
import jax.numpy as jnp
import numpy as np

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


def test_style_content_bound_closed_forms():
  f = RNG.standard_normal((1, 6, 3)).astype(np.float32)
  target = RNG.standard_normal((3, 3)).astype(np.float32)
  g = f[0].T @ f[0] / 6
  np.testing.assert_allclose(losses.style_loss(f, target), np.mean((g - target) ** 2), rtol=1e-5)
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
  grams = {k: losses.gram(v) for k, v in synthesis.features(
      net, variables, style, ("relu1", "relu2")).items()}
  feats = synthesis.features(net, variables, content, ("relu2",))
  fun = synthesis.objective(net, ("relu1", "relu2"), ("relu2",))
  c.style_weight, c.bound_weight = 1e3, 1e-1
  total = lambda x: fun(x, variables, grams, feats, synthesis.weights(c))[0]
  jtu.check_grads(total, (x,), order=1, modes=["rev"], atol=2e-2, rtol=2e-2, eps=1e-3)
