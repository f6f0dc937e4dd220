"""Gram and losses against closed forms; gradients against finite differences."""

import jax
from jax import test_util as jtu
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from jaxstyle import config
from jaxstyle import losses
from jaxstyle import nets
from jaxstyle import objective

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
  c.style_weight, c.bound_weight = 1e3, 1e-1
  net = config.net_spec(c).module()
  style, content = (0.5 * RNG.random((16, 12)) for _ in range(2))
  x = jnp.asarray(RNG.uniform(-0.1, 1.1, (16, 12)))  # also exercises the bound term
  variables = nets.random_variables(config.net_spec(c), 16, 12)
  grams = objective.Targets(gram={k: losses.style_target(v) for k, v in objective.features(
      net, variables, style, ("relu1", "relu2")).items()}, floor=jnp.float32(1e-5),
      rms=jnp.ones(12))
  feats = objective.features(net, variables, content, ("relu2",))
  o = config.objective_spec(c)
  fun = objective.function(net, o, content=True)
  total = lambda x: fun(x, variables, grams, feats, objective.weights(o))[0]
  jtu.check_grads(total, (x,), order=1, modes=["rev"], atol=2e-2, rtol=2e-2, eps=1e-3)


def test_log_magnitude_inverts_the_network_scale():
  mag = RNG.uniform(0, 50, (7, 5)).astype(np.float32)
  x = jnp.log1p(mag) / 7.0
  got = jax.jit(losses.log_magnitude, static_argnames="log_max")(x, log_max=7.0, floor=1e-3)
  np.testing.assert_allclose(got, np.log(mag + 1e-3), rtol=1e-4, atol=1e-4)
  # Negative values (the linear parametrisation) sit on the floor instead of giving NaN.
  assert np.isfinite(losses.log_magnitude(jnp.full((2, 2), -0.1), log_max=7.0, floor=1e-3)).all()


def test_band_envelopes_sum_the_bins_power_then_compress():
  # Bins of magnitude 3 and 4 in one band: amplitude 5; a lone bin of 2 in the other.
  logmag = jnp.log(jnp.asarray([[3.0, 4.0, 2.0]]))
  filters = jnp.asarray([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
  scale = jnp.asarray([2.0, 1.0])
  got = jax.jit(losses.band_envelopes, static_argnames="compression")(
      logmag, filters, scale, compression=0.3)
  np.testing.assert_allclose(got, [[5.0**0.3 / 2.0, 2.0**0.3]], rtol=1e-5)
  x = jnp.asarray(RNG.standard_normal((6, 3)))
  jtu.check_grads(lambda x: losses.band_envelopes(x, filters + 0.1, scale, compression=0.3),
                  (x,), order=1, modes=["rev"], rtol=1e-2)


def test_quantile_loss_closed_forms():
  a, b = RNG.standard_normal((9, 4)), RNG.standard_normal((5, 4))
  target = jax.jit(losses.sorted_values)([jnp.asarray(a), jnp.asarray(b)])
  np.testing.assert_allclose(target, np.sort(np.concatenate([a, b]), axis=0), rtol=1e-6)
  t = losses.sorted_values(jnp.asarray(a))
  loss = jax.jit(losses.quantile_loss)
  assert float(loss(jnp.asarray(a[::-1]), t)) < 1e-12  # order over time does not matter
  assert float(loss(jnp.asarray(a) + 0.5, t)) == pytest.approx(0.25, rel=1e-5)  # a shift
  # The distribution's shape counts, not only its moments: a two-point law against a
  # Gaussian of the same mean and variance.
  gauss = np.sort(RNG.standard_normal((4000, 1)), axis=0)
  gauss = (gauss - gauss.mean()) / gauss.std()
  two = np.where(np.arange(4000) % 2, 1.0, -1.0)[:, None]
  assert float(loss(jnp.asarray(two), jnp.asarray(gauss))) > 0.05


def test_correlation_closed_form():
  x = RNG.standard_normal((200, 3))
  x[:, 2] = -x[:, 0] + 0.01 * RNG.standard_normal(200)
  got = jax.jit(losses.correlation)(jnp.asarray(x))
  np.testing.assert_allclose(got, np.corrcoef(x.T), atol=1e-5)
  assert float(losses.correlation_loss(jnp.asarray(x), got)) < 1e-12


def test_autocorrelation_against_a_direct_sum():
  f = RNG.standard_normal((1, 40, 3))
  got = jax.jit(losses.autocorrelation, static_argnames="max_lag")(jnp.asarray(f), max_lag=5)
  c = f[0] - f[0].mean(0)
  var = (c**2).mean(0)
  want = [(c[:-lag] * c[lag:]).mean(0) / var for lag in range(1, 6)]
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
  # A sinusoid of period 8 steps: correlation -1 at lag 4, about 1 at lag 8.
  t = np.arange(64)
  sine = jnp.asarray(np.sin(2 * np.pi * t / 8)[None, :, None])
  r = losses.autocorrelation(sine, max_lag=8)[:, 0]
  assert float(r[3]) == pytest.approx(-1, abs=1e-3) and float(r[7]) == pytest.approx(1, abs=1e-3)


def test_change_moments_against_scipy_and_backwards():
  """Each column's change over a lag, its variance and third central moment by scipy;
  reversed in time, every change changes sign and so does the third moment; gradients by
  finite differences. A sawtooth that rises in one step and falls over the next 19 is
  positive at every lag below half its period."""
  x = np.exp(RNG.standard_normal((300, 3)))
  lags = (1, 3, 7)
  moments = jax.jit(losses.change_moments, static_argnums=1, static_argnames="circular")
  var, third = moments(jnp.asarray(x), lags)
  changes = [x[lag:] - x[:-lag] for lag in lags]
  np.testing.assert_allclose(var, [np.var(d, axis=0) for d in changes], rtol=1e-4)
  np.testing.assert_allclose(third, [scipy.stats.moment(d, 3, axis=0) for d in changes],
                             rtol=1e-4, atol=1e-5)
  _, circular = moments(jnp.asarray(x), lags, circular=True)
  changes = [np.roll(x, -lag, axis=0) - x for lag in lags]
  np.testing.assert_allclose(circular, [scipy.stats.moment(d, 3, axis=0) for d in changes],
                             rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(moments(jnp.asarray(x[::-1]), lags)[1], -third, rtol=1e-5,
                             atol=1e-6)
  saw = jnp.asarray(np.tile(np.linspace(1, 0, 20), 10)[:, None])
  assert np.all(np.asarray(losses.change_moments(saw, (1, 2, 4, 8))[1]) > 0)
  with jax.enable_x64(True):
    jtu.check_grads(lambda v: losses.change_moments(v, lags, circular=True),
                    (jnp.asarray(x[:40]),), order=1, modes=["rev"], atol=1e-4, rtol=1e-4, eps=1e-6)


def test_band_asymmetry_is_the_skew_of_large_changes_only():
  """Envelopes in units of their mean: where they change by tens of percent, the term's
  statistic is about the skew of each change (scipy); scaled to change a hundred times
  less, the skew stays and the statistic falls to near 0."""
  saw = np.tile(np.linspace(2, 0, 20), 12)
  env = np.stack([saw, 1 + 0.01 * (saw - 1)], axis=1)  # [time, 2]: large, tiny changes
  got = np.asarray(objective.band_asymmetry(jnp.asarray(env)))
  skew = np.stack([scipy.stats.skew(env[lag:] - env[:-lag], axis=0)
                   for lag in objective.BAND_ASYMMETRY_LAGS])
  np.testing.assert_allclose(skew[:, 1], skew[:, 0], rtol=1e-3)
  np.testing.assert_allclose(got[:, 0], skew[:, 0], rtol=0.1)
  assert np.all(np.abs(got[:, 1]) < 0.01 * np.abs(skew[:, 1]))


def test_sliced_wasserstein_closed_forms_and_gradient():
  f = jnp.asarray(RNG.standard_normal((50, 6)))
  d = jnp.asarray(RNG.standard_normal((6, 4)))
  d = d / jnp.linalg.norm(d, axis=0)
  target = losses.sorted_values(f @ d)
  loss = jax.jit(losses.sliced_wasserstein_loss)
  # Invariant to the order of positions; a shift by v moves each projection by v . d.
  assert float(loss(f[::-1], target, d)) < 1e-10
  v = jnp.asarray(RNG.standard_normal(6))
  assert float(loss(f + v, target, d)) == pytest.approx(float(jnp.mean((v @ d) ** 2)), rel=1e-4)
  # A target of another length is read at the same quantiles: 2x repeated, same law.
  assert float(loss(f, losses.sorted_values(jnp.concatenate([f, f]) @ d), d)) < 1e-3
  g = jnp.asarray(RNG.standard_normal((30, 6)))
  jtu.check_grads(lambda g: loss(g, target, d), (g,), order=1, modes=["rev"], rtol=1e-2)


def test_diversity_loss_flags_a_shifted_copy_only():
  style = jnp.asarray(RNG.random((60, 16)))
  copy = jnp.concatenate([jnp.asarray(RNG.random((10, 16))), style[25:45]])
  other = jnp.asarray(RNG.random((30, 16)))
  loss = lambda x: float(losses.diversity_loss(x, style, window=8, threshold=0.5))  # noqa: E731
  assert loss(other) == 0.0 and loss(copy) > 0.01
  grad = jax.grad(lambda x: losses.diversity_loss(x, style, window=8, threshold=0.5))(copy)
  assert float(jnp.abs(grad).max()) > 0  # a copy is pushed away from the style


def test_total_loss_sums_the_weighted_terms():
  terms = {"style": jnp.float32(2.0), "spectrum": jnp.float32(3.0)}
  got = losses.total_loss(terms, {"style": 10.0, "spectrum": 0.5, "content": 7.0})
  assert float(got) == pytest.approx(21.5)
