"""The objective of a synthesis: its settings (`Objective`), the style's targets, the loss.

`function(net, objective)` is `fun(x, variables, targets, content_features, weights) ->
(total, terms)`, the one function L-BFGS minimises (`jaxstyle.synthesis` builds its
arguments); `targets` builds the `Targets` of the style clips, a pure function.
Spectrograms are network scale, `[time, freq]`; waveforms `[samples]`.
"""

from collections.abc import Sequence
import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstyle import auditory
from jaxstyle import losses
from jaxstyle import metrics
from jaxstyle import nets
from jaxstyle import representation as representation_lib
from jaxstyle import spectral
from jaxstyle.errors import InputError

DOMAINS = ("spectrogram", "waveform")
PARAMETRIZATIONS = ("linear", "log")
# Terms beyond the papers' style, content and bound; each is computed only where its
# `<term>_weight` is positive, so the papers' configs cost what they did.
EXTRA_TERMS = ("spectrum", "correlation", "modulation", "band_spectrum", "band_correlation",
               "band_modulation", "band_asymmetry", "autocorrelation", "sliced", "diversity",
               "auditory")
BAND_TERMS = ("band_spectrum", "band_correlation", "band_modulation", "band_asymmetry")
# The floor of `losses.log_magnitude`, relative to the style's largest magnitude (-100 dB).
LOG_FLOOR = 1e-5
# The `band_*` terms' ERB bands span BAND_LOW_HZ to 0.45 of the sample rate; their
# envelopes are compressed by BAND_COMPRESSION, as in McDermott & Simoncelli (2011).
BAND_LOW_HZ = 50.0
BAND_COMPRESSION = 0.3
# `band_asymmetry`'s lags in frames (6 to 46 ms at hop 128 and 22.05 kHz): a crackle's rise
# and fall (the waveform's envelopes have theirs: `auditory.ASYMMETRY_LAGS`).
BAND_ASYMMETRY_LAGS = (1, 2, 4, 8)
BAND_ASYMMETRY_FLOOR = 0.01  # a change's variance, in units of the band's squared mean


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class Objective:
  """The static part of an objective: what is optimised, which terms, their settings.

  Its fields are the config keys of the same names (`weights` holds every
  `<term>_weight`). Frozen and hashable: a static argument under `jit`.

  Attributes:
    representation: the spectrogram the terms see (`stft` in the waveform domain).
    domain: `spectrogram` (x is `[time, freq]`) or `waveform` (x is `[samples]`,
      analysed by `spectral.spectrogram` inside the objective: no phase to guess).
    parametrization: `linear` (the spectrogram is x) or `log` (x is the natural log
      of the magnitude and the spectrogram `compress(exp(x)) = softplus(x) / log_max`:
      non-negative by construction, and the log-magnitude statistics are nearly
      linear in x, which L-BFGS converges on far better); spectrogram domain only.
    loop: the output is a ring (config `loop`): the waveform domain's STFT and the
      time autocorrelations wrap around its end (the network does: `nets.StackedConv`).
    style_layers, content_layers: tap names, e.g. `("relu1", "relu2")`.
    weights: `((term, weight), ...)` for `style`, `content`, `bound` and every one of
      `EXTRA_TERMS`; an extra term is computed only where its weight is positive, and
      `auditory` (the waveform's statistics, `jaxstyle.auditory`) only in the waveform
      domain (`synthesis.refine_begin` takes a spectrogram's audio there).
    modulation_lags: for both `modulation` and `band_modulation`, in frames.
    bands: ERB bands of the `band_*` and `auditory` terms.
    autocorrelation_lags, sliced_projections, diversity_window, diversity_threshold:
      as in the config; `sliced_seed` seeds the sliced term's directions.
  """

  representation: representation_lib.Representation = representation_lib.Representation()
  domain: str = "spectrogram"
  parametrization: str = "linear"
  loop: bool = False
  style_layers: tuple[str, ...] = ("relu1", "relu2")
  content_layers: tuple[str, ...] = ("relu2",)
  weights: tuple[tuple[str, float], ...] = (("style", 1e8), ("content", 1.0), ("bound", 1e-3))
  modulation_lags: int = 43
  bands: int = 32
  autocorrelation_lags: int = 16
  sliced_projections: int = 64
  sliced_seed: int = 1
  diversity_window: int = 20
  diversity_threshold: float = 0.5

  def __post_init__(self):
    for key, allowed in (("domain", DOMAINS), ("parametrization", PARAMETRIZATIONS)):
      if getattr(self, key) not in allowed:
        raise InputError(f"config.{key} must be one of {allowed}, got {getattr(self, key)!r}")
    unknown = set(dict(self.weights)) - {"style", "content", "bound", *EXTRA_TERMS}
    if unknown:
      raise ValueError(f"unknown terms in weights: {sorted(unknown)}")
    for k, w in self.weights:
      if not w >= 0:
        raise InputError(f"config.{k}_weight must be >= 0, got {w!r}")
    for key in ("modulation_lags", "autocorrelation_lags", "sliced_projections",
                "diversity_window"):
      if not getattr(self, key) > 0:
        raise InputError(f"config.{key} must be positive, got {getattr(self, key)!r}")
    if not 0 <= self.diversity_threshold < 1:
      raise InputError(f"config.diversity_threshold must be in [0, 1), got "
                       f"{self.diversity_threshold!r}")
    if not self.style_layers:
      raise InputError("config.style_layers is empty")
    for key in ("style_layers", "content_layers"):
      for layer in getattr(self, key):
        try:
          nets.tap_depth(layer)
        except ValueError as e:
          raise InputError(f"config.{key}: {e}") from None
    kind = self.representation.kind
    if self.domain == "waveform" and kind != "stft":
      raise InputError("config.domain=waveform optimises through the STFT: it needs "
                       f"spectrogram=stft, got {kind!r}")
    if set(BAND_TERMS) & set(self.extra):
      if kind != "stft":
        raise InputError("config.band_*_weight: the ERB bands are sums of STFT bins, so they "
                         f"need spectrogram=stft, got {kind!r}")
      if not isinstance(self.bands, int) or self.bands < 2:
        raise InputError(f"config.bands must be an integer of at least 2, got {self.bands!r}")
      band_filters(self.representation.n_fft, self.representation.sample_rate, self.bands)

  @property
  def extra(self) -> tuple[str, ...]:
    """The active `EXTRA_TERMS` (positive weight), in that order."""
    w = dict(self.weights)
    return tuple(k for k in EXTRA_TERMS if w.get(k, 0.0) > 0)

  @property
  def depth(self) -> int:
    """The deepest stack a style or content layer needs."""
    return max(map(nets.tap_depth, self.style_layers + self.content_layers))


class Targets(NamedTuple):
  """What the style clips give the objective; the entries of inactive terms are None.

  A pytree of arrays: stack the targets of several styles (of equal shapes) along a
  new leading axis to `vmap` over them.

  Attributes:
    gram: `{layer: [R, channels]}` factors of the style Grams (`losses.style_target`).
    floor: scalar floor of `losses.log_magnitude` (`LOG_FLOOR` of the style's peak).
    rms: `[freq]` the RMS linear magnitude of each bin over the style (the start of
      shaped noise, `synthesis.shaped_noise`).
    spectrum: `[frames, freq]` each bin's log magnitudes over time, sorted
      (`losses.sorted_values`): the target of each bin's distribution.
    correlation: `[freq, freq]` correlations of the bins' log magnitudes over time.
    modulation: `[lags, freq]` autocorrelation of each bin's log magnitude over time.
    autocorrelation: `{layer: [lags, channels]}` (`losses.autocorrelation`).
    sliced: `{layer: [positions, K]}` sorted style projections (`losses.sorted_values`).
    directions: `{layer: [channels, K]}` unit projection directions.
    style: the style spectrograms concatenated along time `[frames, freq]` (diversity).
    filters: `[freq, bands]` power gains of the ERB bands (`band_filters`).
    band_scale: `[bands]` the style's mean compressed envelope per band
      (`losses.band_envelopes` divides by it, so that every band weighs alike).
    band_spectrum: `[frames, bands]` each band's envelope values over time, sorted.
    band_correlation: `[bands, bands]` correlations of the band envelopes.
    band_modulation: `[lags, bands]` autocorrelation of each band's envelope.
    band_asymmetry: `[len(BAND_ASYMMETRY_LAGS), bands]` how much faster each band's
      envelope rises than falls (`band_asymmetry`).
    auditory: `{group: array}` the style waveforms' mean `auditory.statistics`.
  """

  gram: dict
  floor: jnp.ndarray
  rms: jnp.ndarray
  spectrum: jnp.ndarray | None = None
  correlation: jnp.ndarray | None = None
  modulation: jnp.ndarray | None = None
  autocorrelation: dict | None = None
  sliced: dict | None = None
  directions: dict | None = None
  style: jnp.ndarray | None = None
  filters: jnp.ndarray | None = None
  band_scale: jnp.ndarray | None = None
  band_spectrum: jnp.ndarray | None = None
  band_correlation: jnp.ndarray | None = None
  band_modulation: jnp.ndarray | None = None
  band_asymmetry: jnp.ndarray | None = None
  auditory: dict | None = None


def weights(o: Objective) -> dict[str, jnp.ndarray]:
  """The loss weights of `o`, as arrays: an argument of the objective, not a constant,
  so runs that differ only in weights share one compiled program (and can be batched)."""
  return {k: jnp.float32(w) for k, w in o.weights}


def to_spectrogram(x: jnp.ndarray, o: Objective) -> jnp.ndarray:
  """The network-scale spectrogram `[time, freq]` of the optimised variable `x`."""
  r = o.representation
  if o.domain == "waveform":
    return spectral.spectrogram(x, n_fft=r.n_fft, hop_length=r.hop_length, log_max=r.log_max,
                                circular=o.loop)
  return jax.nn.softplus(x) / r.log_max if o.parametrization == "log" else x


def to_variable(spec: jnp.ndarray, o: Objective, floor: jnp.ndarray) -> jnp.ndarray:
  """The spectrogram domain's variable of a network-scale spectrogram `[time, freq]`
  (`to_spectrogram` inverts it; magnitudes below `floor` are raised to it)."""
  if o.parametrization == "log":
    return jnp.log(jnp.maximum(spectral.decompress(spec, log_max=o.representation.log_max),
                               floor))
  return spec


def band_asymmetry(env: jnp.ndarray, *, circular: bool = False) -> jnp.ndarray:
  """`[len(BAND_ASYMMETRY_LAGS), bands]` how much faster each band envelope `[time, bands]`
  (in units of the style's mean, `losses.band_envelopes`) rises than it falls: the skew of
  its change over each lag, `third / (variance + BAND_ASYMMETRY_FLOOR)^1.5`. Bounded by the
  skew; near 0 where the envelope barely changes, whose skew would be a few gusts'."""
  var, third = losses.change_moments(env, BAND_ASYMMETRY_LAGS, circular=circular)
  return third / (var + BAND_ASYMMETRY_FLOOR) ** 1.5


@functools.cache
def function(net: nets.StackedConv, o: Objective, *, content: bool = False):
  """`fun(x, variables, targets, content_features, weights) -> (total, terms)`.

  `x` is a spectrogram `[time, freq]` or a waveform `[samples]` (`o.domain`);
  `targets` a `Targets`; `weights` as from `weights(o)`; `content`: style transfer
  (the content layers' term is computed). Cached, so equal networks and objectives
  share one compiled solver step.
  """
  layers = o.style_layers + (o.content_layers if content else ())
  until = max(layers, key=nets.tap_depth)
  log_max = o.representation.log_max
  extra = o.extra

  def fun(x, variables, targets, content_features, weights):
    spec = to_spectrogram(x, o)
    feats = net.apply(variables, nets.net_input(spec, net.orientation)[None], until=until)
    zero = jnp.zeros((), spec.dtype)
    terms = {
        "style": sum((losses.style_loss(feats[k], t) for k, t in targets.gram.items()), zero),
        "content": sum((losses.content_loss(feats[k], v) for k, v in content_features.items()),
                       zero),
        "bound": losses.bound_loss(spec),
    }
    logmag = losses.log_magnitude(spec, log_max=log_max, floor=targets.floor)
    if "spectrum" in extra:
      terms["spectrum"] = losses.quantile_loss(logmag, targets.spectrum)
    if "correlation" in extra:
      terms["correlation"] = losses.correlation_loss(logmag, targets.correlation)
    if "modulation" in extra:
      terms["modulation"] = losses.autocorrelation_loss(logmag[None], targets.modulation,
                                                        circular=o.loop)
    if set(BAND_TERMS) & set(extra):
      env = losses.band_envelopes(logmag, targets.filters, targets.band_scale,
                                  compression=BAND_COMPRESSION)
      if "band_spectrum" in extra:
        terms["band_spectrum"] = losses.quantile_loss(env, targets.band_spectrum)
      if "band_correlation" in extra:
        terms["band_correlation"] = losses.correlation_loss(env, targets.band_correlation)
      if "band_modulation" in extra:
        terms["band_modulation"] = losses.autocorrelation_loss(
            env[None], targets.band_modulation, circular=o.loop)
      if "band_asymmetry" in extra:
        terms["band_asymmetry"] = jnp.mean((band_asymmetry(env, circular=o.loop)
                                            - targets.band_asymmetry) ** 2)
    if "autocorrelation" in extra:
      terms["autocorrelation"] = sum(losses.autocorrelation_loss(feats[k], t, circular=o.loop)
                                     for k, t in targets.autocorrelation.items())
    if "sliced" in extra:
      terms["sliced"] = sum(losses.sliced_wasserstein_loss(feats[k], t, targets.directions[k])
                            for k, t in targets.sliced.items())
    if "diversity" in extra:
      terms["diversity"] = losses.diversity_loss(spec, targets.style, window=o.diversity_window,
                                                 threshold=o.diversity_threshold)
    if "auditory" in extra and o.domain == "waveform":
      terms["auditory"] = auditory.loss(x, targets.auditory, auditory_settings(o, x.shape[0]))
    return losses.total_loss(terms, weights), terms

  return fun


def features(net: nets.StackedConv, variables: dict, spec: jnp.ndarray,
             layers: Sequence[str]) -> dict[str, jnp.ndarray]:
  """Features `{layer: [1, *spatial, channels]}` of one spectrogram `[time, freq]`."""
  feats = net.apply(variables, nets.net_input(spec, net.orientation)[None],
                    until=max(layers, key=nets.tap_depth))
  return {k: feats[k] for k in layers}


@functools.cache
def band_filters(n_fft: int, sample_rate: int, bands: int) -> np.ndarray:
  """`[n_fft // 2 + 1, bands]` power gains of the `band_*` terms' ERB bands over STFT bins
  (read-only, built once per set of arguments).

  Raises `InputError` if a band holds no bin (too many bands for `n_fft`).
  """
  frequency_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
  gains = metrics.erb_filterbank(frequency_hz, n_bands=bands, low_hz=BAND_LOW_HZ,
                                 high_hz=0.45 * sample_rate) ** 2
  empty = np.flatnonzero(gains.sum(axis=1) == 0)
  if empty.size:
    raise InputError(f"config.bands: {empty.size} of the {bands} ERB bands hold no STFT bin at "
                     f"n_fft={n_fft}; use fewer bands or a larger n_fft")
  gains = gains.T.astype(np.float32)
  gains.flags.writeable = False
  return gains


def auditory_settings(o: Objective, n_samples: int) -> auditory.Auditory:
  """The `auditory` term's model of waveforms of `n_samples` under `o`."""
  return auditory.Auditory(o.representation.sample_rate, n_samples, o.bands)


def targets(o: Objective, net: nets.StackedConv, variables: dict,
            style: Sequence[jnp.ndarray], waves: Sequence[jnp.ndarray] | None = None) -> Targets:
  """The `Targets` of style spectrograms `[time_i, freq]` under `o`; pure (clips of any
  lengths: their shapes are static). `waves`: the clips' waveforms `[samples_i]`, which
  only the `auditory` term needs."""
  r = o.representation
  style = [jnp.asarray(s) for s in style]
  feats = [features(net, variables, s, o.style_layers) for s in style]
  peak = jnp.max(jnp.stack([spectral.decompress(s, log_max=r.log_max).max() for s in style]))
  floor = LOG_FLOOR * jnp.maximum(peak, 1e-3)
  rms = jnp.sqrt(jnp.mean(jnp.concatenate(
      [spectral.decompress(s, log_max=r.log_max) ** 2 for s in style]), axis=0))
  t = Targets(gram={k: losses.style_target([x[k] for x in feats]) for k in o.style_layers},
              floor=floor, rms=rms)
  extra = o.extra
  logmags = [losses.log_magnitude(s, log_max=r.log_max, floor=floor) for s in style]
  if "spectrum" in extra:
    t = t._replace(spectrum=losses.sorted_values(logmags))
  if "correlation" in extra:
    t = t._replace(correlation=losses.correlation(logmags))
  if {"modulation", "band_modulation"} & set(extra):
    if o.modulation_lags >= min(s.shape[0] for s in style):
      raise InputError(f"config.modulation_lags ({o.modulation_lags}) must be below the "
                       f"{min(s.shape[0] for s in style)} frames of the shortest style")
  if "modulation" in extra:
    t = t._replace(modulation=jnp.mean(jnp.stack([losses.autocorrelation(
        m[None], max_lag=o.modulation_lags) for m in logmags]), axis=0))
  if set(BAND_TERMS) & set(extra):
    filters = jnp.asarray(band_filters(r.n_fft, r.sample_rate, o.bands))
    raw = [losses.band_envelopes(m, filters, 1.0, compression=BAND_COMPRESSION) for m in logmags]
    scale = jnp.concatenate(raw).mean(axis=0)
    envs = [e / scale for e in raw]
    t = t._replace(filters=filters, band_scale=scale)
    if "band_spectrum" in extra:
      t = t._replace(band_spectrum=losses.sorted_values(envs))
    if "band_correlation" in extra:
      t = t._replace(band_correlation=losses.correlation(envs))
    if "band_modulation" in extra:
      t = t._replace(band_modulation=jnp.mean(jnp.stack([losses.autocorrelation(
          e[None], max_lag=o.modulation_lags) for e in envs]), axis=0))
    if "band_asymmetry" in extra:
      if max(BAND_ASYMMETRY_LAGS) >= min(s.shape[0] for s in style):
        raise InputError(f"config.band_asymmetry_weight: a style of "
                         f"{min(s.shape[0] for s in style)} frames is too short for changes "
                         f"over {max(BAND_ASYMMETRY_LAGS)} frames")
      t = t._replace(band_asymmetry=jnp.mean(jnp.stack([band_asymmetry(e) for e in envs]),
                                             axis=0))
  if "autocorrelation" in extra:
    for k in o.style_layers:
      steps = min(x[k].shape[1] for x in feats)
      if o.autocorrelation_lags >= steps:
        raise InputError(f"config.autocorrelation_lags ({o.autocorrelation_lags}) must be "
                         f"below the {steps} time steps of the shortest style at {k}")
    t = t._replace(autocorrelation={k: jnp.mean(jnp.stack([losses.autocorrelation(
        x[k], max_lag=o.autocorrelation_lags) for x in feats]), axis=0) for k in o.style_layers})
  if "sliced" in extra:
    keys = jax.random.split(jax.random.key(o.sliced_seed), len(o.style_layers))
    directions = {}
    for key, k in zip(keys, o.style_layers, strict=True):
      d = jax.random.normal(key, (feats[0][k].shape[-1], o.sliced_projections))
      directions[k] = d / jnp.linalg.norm(d, axis=0)
    t = t._replace(directions=directions, sliced={
        k: losses.sorted_values([x[k] @ directions[k] for x in feats]) for k in o.style_layers})
  if "diversity" in extra:
    t = t._replace(style=jnp.concatenate(style, axis=0))
  if "auditory" in extra:
    if waves is None:
      raise InputError("config.auditory_weight: the auditory statistics need the style "
                       "waveforms (synthesis.analyze)")
    t = t._replace(auditory=auditory.target([jnp.asarray(w) for w in waves],
                                            sample_rate=r.sample_rate, bands=o.bands))
  return t


def interpolate(a: Targets, b: Targets, w) -> Targets:
  """The targets a share `w` of the way from `a` to `b` (in [0, 1], may be traced): two
  styles' targets under one objective, each term along a path on which it stays valid.

  - Distributions (`spectrum`, `band_spectrum`, `sliced`) quantile by quantile: the
    Wasserstein-2 geodesic, which moves mass instead of cross-fading two distributions
    (both read at the larger count of quantiles, `losses.quantiles`).
  - Grams linearly, so they stay positive semi-definite: their factors stacked,
    `sqrt(1 - w) La` over `sqrt(w) Lb`, whose Gram is `(1 - w) Ga + w Gb`.
  - Correlations and autocorrelations linearly (a correlation matrix stays one), and so
    the band envelopes' asymmetry and the waveform's auditory statistics (moments,
    asymmetry, peaks, crest, floor, correlations, modulation shares).
  - The long-term spectrum (`rms`), the log floor and the band scales in log magnitude;
    the band envelopes' quantiles move in absolute units, then take the new scale.
  - The diversity term's copy reference holds both styles; `filters` and `directions`
    are the objective's own, `a`'s.

  Shapes follow `a` and `b` only (not `w`), so every share runs in one program.
  """
  w = jnp.asarray(w, jnp.float32)
  lin = lambda x, y: (1 - w) * x + w * y  # noqa: E731
  geo = lambda x, y: jnp.exp(lin(jnp.log(jnp.maximum(x, 1e-30)),  # noqa: E731
                                 jnp.log(jnp.maximum(y, 1e-30))))

  def quantiles(x, y, sx=1.0, sy=1.0):
    n = max(x.shape[0], y.shape[0])
    return lin(losses.quantiles(x, n) * sx, losses.quantiles(y, n) * sy)

  def either(x, y, f):
    return None if x is None else f(x, y)

  scale = either(a.band_scale, b.band_scale, geo)
  return Targets(
      gram={k: jnp.concatenate([jnp.sqrt(1 - w) * a.gram[k], jnp.sqrt(w) * b.gram[k]])
            for k in a.gram},
      floor=geo(a.floor, b.floor),
      rms=geo(a.rms, b.rms),
      spectrum=either(a.spectrum, b.spectrum, quantiles),
      correlation=either(a.correlation, b.correlation, lin),
      modulation=either(a.modulation, b.modulation, lin),
      autocorrelation=either(a.autocorrelation, b.autocorrelation,
                             lambda x, y: {k: lin(x[k], y[k]) for k in x}),
      sliced=either(a.sliced, b.sliced, lambda x, y: {k: quantiles(x[k], y[k]) for k in x}),
      directions=a.directions,
      style=either(a.style, b.style, lambda x, y: jnp.concatenate([x, y])),
      filters=a.filters,
      band_scale=scale,
      band_spectrum=either(a.band_spectrum, b.band_spectrum, lambda x, y: quantiles(
          x, y, a.band_scale, b.band_scale) / scale),
      band_correlation=either(a.band_correlation, b.band_correlation, lin),
      band_modulation=either(a.band_modulation, b.band_modulation, lin),
      band_asymmetry=either(a.band_asymmetry, b.band_asymmetry, lin),
      auditory=either(a.auditory, b.auditory, lambda x, y: {k: lin(x[k], y[k]) for k in x}),
  )


def barycentre(targets: Sequence[Targets], weights: Sequence[float]) -> Targets:
  """The weighted barycentre of several styles' targets (`weights` positive, any sum):
  `interpolate` folded over them, each step taking its style's share of the weight so
  far (every term's path is linear in its own coordinates, so the order does not
  matter)."""
  total, out = float(weights[0]), targets[0]
  for t, w in zip(targets[1:], weights[1:], strict=True):
    total += float(w)
    out = interpolate(out, t, float(w) / total)
  return out
