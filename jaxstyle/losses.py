"""Style, content and bound losses, normalised as the reference code of Huzaifah & Wyse.

Feature maps are `[..., positions, channels]` (any leading axes, e.g. batch and the
2D net's time axis, are flattened into positions). With that normalisation the
papers' weights (e.g. content 1, style 1e8, bound 1e-3) behave as in the papers.

Beyond the papers, for textures: statistics of the log-magnitude spectrogram
(`log_magnitude`; each bin's distribution by `quantile_loss`, the bins' `correlation`,
their `autocorrelation`) and the same of compressed frequency-band envelopes
(`band_envelopes`) with the moments of their changes (`change_moments`), the
features' autocorrelation (Antognini et al. 2019) and sliced Wasserstein distance
(Heitz et al. 2021), and an anti-copy `diversity_loss`.
All functions are pure and safe under `jit`, `vmap` and `grad`.
"""

from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np


def gram(features: jnp.ndarray | Sequence[jnp.ndarray]) -> jnp.ndarray:
  """Gram matrix `F^T F / positions`, `[channels, channels]`.

  Args:
    features: one feature map `[..., positions, channels]`, or several (e.g. of
      style clips of different lengths), concatenated along positions first
      (multi-texture, Huzaifah & Wyse 5.3.2).
  """
  maps = [features] if isinstance(features, jnp.ndarray) else list(features)
  flat = jnp.concatenate([f.reshape(-1, f.shape[-1]) for f in maps], axis=0)
  return flat.T @ flat / flat.shape[0]


def style_target(features: jnp.ndarray | Sequence[jnp.ndarray]) -> jnp.ndarray:
  """A factor `L` `[positions, channels]` of the style Gram: `gram(features) == L.T @ L`.

  `features` as for `gram` (several clips are concatenated). Zero rows may be appended
  (e.g. to batch clips of different lengths): they leave `L.T @ L` unchanged.
  """
  maps = [features] if isinstance(features, jnp.ndarray) else list(features)
  flat = jnp.concatenate([f.reshape(-1, f.shape[-1]) for f in maps], axis=0)
  return flat / jnp.sqrt(flat.shape[0])


def style_loss(features: jnp.ndarray, target: jnp.ndarray) -> jnp.ndarray:
  """Mean squared difference between `gram(features)` and `target.T @ target`.

  Args:
    features: `[..., positions, channels]`, N positions and C channels in all.
    target: the style Gram's factor `L` `[R, channels]` (`style_target`).

  With `A = F / sqrt(N)`, `||A^T A - L^T L||^2 = ||A A^T||^2 - 2 ||A L^T||^2 +
  ||L L^T||^2`: when `N + R < C` (a 1D net over a few seconds: 431 frames, 4096
  channels) the position products cost `O((N + R) N C)` instead of the Grams'
  `O(N C^2)`, which made the paper texture setting a third faster. Otherwise the
  Grams are formed. Both are exact; the first cancels at the scale of `||G||^2`
  rather than of each entry, which measured as no loss of convergence over 30
  L-BFGS iterations of the paper setting (style loss down 450x either way).
  """
  a = features.reshape(-1, features.shape[-1])
  n, c = a.shape
  if n + target.shape[0] < c:
    a = a / jnp.sqrt(n)
    return (jnp.sum((a @ a.T) ** 2) - 2 * jnp.sum((a @ target.T) ** 2)
            + jnp.sum((target @ target.T) ** 2)) / c**2
  return jnp.mean((a.T @ a / n - target.T @ target) ** 2)


def content_loss(features: jnp.ndarray, target: jnp.ndarray) -> jnp.ndarray:
  """Mean squared difference between feature maps of the same shape."""
  return jnp.mean((features - target) ** 2)


def bound_loss(x: jnp.ndarray) -> jnp.ndarray:
  """L2 norm of the excess of `x` outside `[0, 1]`; zero gradient inside."""
  excess = jnp.maximum(x - 1.0, 0.0) + jnp.maximum(-x, 0.0)
  sq = jnp.sum(excess**2)
  # sqrt has an infinite slope at 0; this keeps the gradient 0 there, as PyTorch's norm.
  return jnp.where(sq > 0, jnp.sqrt(jnp.where(sq > 0, sq, 1.0)), 0.0)


def log_magnitude(spec: jnp.ndarray, *, log_max: float, floor: jnp.ndarray) -> jnp.ndarray:
  """Natural log of the linear magnitude of a network-scale spectrogram, same shape.

  `log(max(expm1(log_max * spec), 0) + floor)`: the log1p scale of the network is
  nearly linear in quiet bins (a bin 60 dB down is ~0 there), this one is not.
  """
  return jnp.log(jnp.maximum(jnp.expm1(log_max * spec), 0.0) + floor)


def band_envelopes(logmag: jnp.ndarray, filters: jnp.ndarray, scale: jnp.ndarray, *,
                   compression: float) -> jnp.ndarray:
  """Compressed envelopes of frequency bands, `[..., time, bands]`.

  Each frame's power `exp(2 logmag)` `[..., time, freq]` is summed through the bands'
  power gains `filters` `[freq, bands]`; the band amplitude is raised to `compression`
  (0.3 in McDermott & Simoncelli 2011) and divided by `scale` `[bands]` (e.g. the
  style's mean envelope, so that every band weighs alike).
  """
  return (jnp.exp(2.0 * logmag) @ filters) ** (0.5 * compression) / scale


def sorted_values(values: jnp.ndarray | Sequence[jnp.ndarray]) -> jnp.ndarray:
  """Each column's values sorted, `[positions, K]`: the target of `quantile_loss`.

  Args:
    values: `[..., positions, K]`, or several, concatenated along positions.
  """
  maps = [values] if isinstance(values, jnp.ndarray) else list(values)
  return jnp.sort(jnp.concatenate([m.reshape(-1, m.shape[-1]) for m in maps], axis=0), axis=0)


def quantiles(target: jnp.ndarray, n: int) -> jnp.ndarray:
  """Sorted columns `[M, K]` (`sorted_values`) read at `n` evenly spaced quantiles (the
  midpoints of `n` equal shares, linear interpolation), `[n, K]`: the same distributions
  on `n` points."""
  m = target.shape[0]
  at = (jnp.arange(n) + 0.5) * m / n - 0.5
  return jax.vmap(lambda col: jnp.interp(at, jnp.arange(m), col), in_axes=1,
                  out_axes=1)(target)


def quantile_loss(values: jnp.ndarray, target: jnp.ndarray) -> jnp.ndarray:
  """Squared Wasserstein-2 distance of each column's distribution to a target's, averaged.

  `values` `[..., positions, K]` (N positions) are sorted per column; the target's
  sorted columns `[M, K]` (`sorted_values`) are read at the same N quantiles
  (`quantiles`), so any M works. In one dimension optimal transport is sorting: this
  matches the whole distribution of each column (its mean, spread, skew, ...), not
  only its moments.
  """
  v = jnp.sort(values.reshape(-1, values.shape[-1]), axis=0)
  return jnp.mean((v - quantiles(target, v.shape[0])) ** 2)


def correlation(values: jnp.ndarray | Sequence[jnp.ndarray]) -> jnp.ndarray:
  """Pearson correlations between the columns of `[..., positions, K]`, `[K, K]` (several
  maps are concatenated along positions): e.g. the co-modulation of frequency bins."""
  maps = [values] if isinstance(values, jnp.ndarray) else list(values)
  flat = jnp.concatenate([m.reshape(-1, m.shape[-1]) for m in maps], axis=0)
  centred = flat - flat.mean(axis=0)
  unit = centred / (jnp.sqrt(jnp.sum(centred**2, axis=0)) + 1e-6)
  return unit.T @ unit


def correlation_loss(values: jnp.ndarray, target: jnp.ndarray) -> jnp.ndarray:
  """Mean squared difference of `correlation(values)` and `target` `[K, K]`."""
  return jnp.mean((correlation(values) - target) ** 2)


def autocorrelation(features: jnp.ndarray, *, max_lag: int,
                    circular: bool = False) -> jnp.ndarray:
  """Normalised autocorrelation over time of each channel, lags 1..max_lag, `[max_lag, C]`.

  After Antognini et al. (2019). Args: `features` `[batch, time, ..., channels]`
  (time is axis 1: the `freq` and `2d` orientations); each channel is centred over
  time, its lag products averaged over the `time - lag` pairs (and the other axes)
  and divided by its variance. Computed by FFT. `circular`: time is a ring (a loop),
  so every lag has `time` pairs, the last steps paired with the first.
  """
  f = jnp.moveaxis(features, 1, 0).reshape(features.shape[1], -1, features.shape[-1])
  t = f.shape[0]
  if not 0 < max_lag < t:
    raise ValueError(f"max_lag must be in [1, {t - 1}] for {t} time steps, got {max_lag}")
  f = f - f.mean(axis=0)
  n = t if circular else 2 * t
  spec = jnp.fft.rfft(f, n=n, axis=0)
  lagged = jnp.fft.irfft(jnp.abs(spec) ** 2, n=n, axis=0)[: max_lag + 1].mean(axis=1)
  pairs = np.full(max_lag + 1, t) if circular else t - np.arange(max_lag + 1)
  lagged = lagged / pairs[:, None]
  return lagged[1:] / (lagged[:1] + 1e-8)


def autocorrelation_loss(features: jnp.ndarray, target: jnp.ndarray, *,
                         circular: bool = False) -> jnp.ndarray:
  """Mean squared difference of `autocorrelation(features, circular=...)` and `target`
  `[lags, C]`."""
  return jnp.mean((autocorrelation(features, max_lag=target.shape[0], circular=circular)
                   - target) ** 2)


def change_moments(values: jnp.ndarray, lags, *,
                   circular: bool = False) -> tuple[jnp.ndarray, jnp.ndarray]:
  """The variance and third central moment of each column's change over each of `lags`
  steps, two `[len(lags), K]`, of `values` `[time, K]`.

  The third is above 0 where the values rise faster than they fall (a crackle's envelope),
  0 where they run alike both ways, and its negative for the values reversed in time.
  `circular`: time is a ring (a loop), so each lag has `time` changes.
  """
  steps = [(jnp.roll(values, -lag, axis=0) - values) if circular else values[lag:] - values[:-lag]
           for lag in lags]
  steps = [d - d.mean(axis=0) for d in steps]
  return (jnp.stack([jnp.mean(d**2, axis=0) for d in steps]),
          jnp.stack([jnp.mean(d**3, axis=0) for d in steps]))


def sliced_wasserstein_loss(features: jnp.ndarray, target: jnp.ndarray,
                            directions: jnp.ndarray) -> jnp.ndarray:
  """Sliced Wasserstein-2 distance, squared, between the feature distribution and a target's.

  Heitz et al. (2021): the features `[..., positions, C]` are projected on
  `directions` `[C, K]` and compared with the target's sorted projections `[M, K]`
  (`sorted_values(style_features @ directions)`) by `quantile_loss`.
  """
  return quantile_loss(features.reshape(-1, features.shape[-1]) @ directions, target)


def diversity_loss(spec: jnp.ndarray, style: jnp.ndarray, *, window: int,
                   threshold: float) -> jnp.ndarray:
  """Penalty on windows of `spec` that copy a window of `style` at any shift.

  Frames of both spectrograms `[time, freq]` are centred by the style's mean frame and
  normalised; `D[t, s]` is the mean cosine similarity of `window` frames from `t` in
  `spec` and from `s` in `style`. Returns the mean over `t` of
  `sum_s max(D[t, s] - threshold, 0)^2`: zero unless some window nearly repeats one of
  the style's, at any offset.
  """
  mean = style.mean(axis=0)
  unit = lambda a: (a - mean) / (jnp.linalg.norm(a - mean, axis=-1, keepdims=True) + 1e-6)  # noqa: E731
  sim = unit(spec) @ unit(style).T
  t, s = sim.shape[0] - window + 1, sim.shape[1] - window + 1
  if t < 1 or s < 1:
    raise ValueError(f"window {window} is longer than a spectrogram ({sim.shape} frames)")
  d = sum(sim[k:k + t, k:k + s] for k in range(window)) / window
  return jnp.mean(jnp.sum(jnp.maximum(d - threshold, 0.0) ** 2, axis=1))


def total_loss(terms: Mapping[str, jnp.ndarray], weights: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
  """`sum_k weights[k] * terms[k]` over the terms, e.g. `content_weight * content +
  style_weight * style + bound_weight * bound` with `weights` keyed `content`, ...."""
  return sum(weights[k] * v for k, v in terms.items())
