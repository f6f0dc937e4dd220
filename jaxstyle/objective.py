"""The objective of a synthesis: its form, the style's targets, the loss function.

`function(net, style_layers, content_layers, form)` is `fun(x, variables, targets,
content_features, weights) -> (total, terms)`, the one function L-BFGS minimises
(`jaxstyle.synthesis` builds its arguments); `targets` builds the `Targets` of the
style clips. Spectrograms are network scale, `[time, freq]`.
"""

from collections.abc import Sequence
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxstyle import losses
from jaxstyle import metrics
from jaxstyle import nets
from jaxstyle import spectral
from jaxstyle.errors import InputError

DOMAINS = ("spectrogram", "waveform")
PARAMETRIZATIONS = ("linear", "log")
# Terms beyond the papers' style, content and bound; each is computed only where its
# `<term>_weight` is positive, so the papers' configs cost what they did.
EXTRA_TERMS = ("spectrum", "correlation", "modulation", "band_spectrum", "band_correlation",
               "band_modulation", "autocorrelation", "sliced", "diversity")
BAND_TERMS = ("band_spectrum", "band_correlation", "band_modulation")
# The floor of `losses.log_magnitude`, relative to the style's largest magnitude (-100 dB).
LOG_FLOOR = 1e-5
# The `band_*` terms' ERB bands span BAND_LOW_HZ to 0.45 of the sample rate; their
# envelopes are compressed by BAND_COMPRESSION, as in McDermott & Simoncelli (2011).
BAND_LOW_HZ = 50.0
BAND_COMPRESSION = 0.3


def _layers(value: str, key: str, stacks: int) -> tuple[str, ...]:
  layers = tuple(s.strip() for s in value.split(",") if s.strip())
  for layer in layers:
    try:
      depth = nets.tap_depth(layer)
    except ValueError as e:
      raise InputError(f"config.{key}: {e}") from None
    if depth > stacks:
      raise InputError(f"config.{key}: layer {layer!r} needs {depth} stacks, "
                       f"but net.stacks is {stacks}")
  return layers


def style_layers(c: ml_collections.ConfigDict) -> tuple[str, ...]:
  """The style layers of a checked config, e.g. `("relu1", "relu2")`."""
  return _layers(c.style_layers, "style_layers", c.net.stacks)


def content_layers(c: ml_collections.ConfigDict) -> tuple[str, ...]:
  """The content layers of a checked config (may be empty)."""
  return _layers(c.content_layers, "content_layers", c.net.stacks)


class Form(NamedTuple):
  """The static part of an objective: what is optimised and which terms exist.

  Attributes:
    domain: `spectrogram` (x is `[time, freq]`) or `waveform` (x is `[samples]`,
      analysed by `spectral.spectrogram` inside the objective: no phase to guess).
    parametrization: `linear` (the spectrogram is x) or `log` (x is the natural log
      of the magnitude and the spectrogram `compress(exp(x)) = softplus(x) / log_max`:
      non-negative by construction, and the log-magnitude statistics are nearly
      linear in x, which L-BFGS converges on far better); spectrogram domain only.
    n_fft, hop_length, log_max: the STFT of the waveform domain.
    extra: the active `EXTRA_TERMS`.
    modulation_lags: as in the config, for both `modulation` and `band_modulation`.
    autocorrelation_lags, diversity_window, diversity_threshold: as in the config.
    loop: the output is a ring (config `loop`): the waveform domain's STFT and the
      time autocorrelations wrap around its end (the network does: `nets.StackedConv`).
  """

  domain: str = "spectrogram"
  parametrization: str = "linear"
  n_fft: int = 1024
  hop_length: int = 256
  log_max: float = 7.0
  extra: tuple[str, ...] = ()
  modulation_lags: int = 0
  autocorrelation_lags: int = 0
  diversity_window: int = 0
  diversity_threshold: float = 0.0
  loop: bool = False


def form(c: ml_collections.ConfigDict) -> Form:
  """The `Form` of a checked config."""
  return Form(c.domain, c.parametrization, c.n_fft, c.hop_length, float(c.log_max),
              tuple(k for k in EXTRA_TERMS if c[f"{k}_weight"] > 0), c.modulation_lags,
              c.autocorrelation_lags, c.diversity_window, float(c.diversity_threshold), c.loop)


class Targets(NamedTuple):
  """What the style clips give the objective; the entries of inactive terms are None.

  Attributes:
    gram: `{layer: [R, channels]}` factors of the style Grams (`losses.style_target`).
    floor: scalar floor of `losses.log_magnitude` (`LOG_FLOOR` of the style's peak).
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
  """

  gram: dict
  floor: jnp.ndarray
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


def weights(c: ml_collections.ConfigDict) -> dict[str, jnp.ndarray]:
  """The loss weights of a config, as arrays: an argument of the objective, not a constant,
  so runs that differ only in weights share one compiled program (and can be batched)."""
  return {k: jnp.float32(c[f"{k}_weight"])
          for k in ("style", "content", "bound", *EXTRA_TERMS)}


def to_spectrogram(x: jnp.ndarray, f: Form) -> jnp.ndarray:
  """The network-scale spectrogram `[time, freq]` of the optimised variable `x`."""
  if f.domain == "waveform":
    return spectral.spectrogram(x, n_fft=f.n_fft, hop_length=f.hop_length, log_max=f.log_max,
                                circular=f.loop)
  return jax.nn.softplus(x) / f.log_max if f.parametrization == "log" else x


def to_variable(spec: jnp.ndarray, f: Form, floor: jnp.ndarray) -> jnp.ndarray:
  """The spectrogram domain's variable of a network-scale spectrogram `[time, freq]`
  (`to_spectrogram` inverts it; magnitudes below `floor` are raised to it)."""
  if f.parametrization == "log":
    return jnp.log(jnp.maximum(spectral.decompress(spec, log_max=f.log_max), floor))
  return spec


@functools.cache
def function(net: nets.StackedConv, style_layers: tuple[str, ...],
              content_layers: tuple[str, ...], f: Form | None = None):
  """`fun(x, variables, targets, content_features, weights) -> (total, terms)`.

  `x` is a spectrogram `[time, freq]` or a waveform `[samples]` (`f.domain`);
  `targets` a `Targets`; `weights` as from `weights(c)`. Cached, so equal networks,
  layers and forms share one compiled solver step. `f` defaults to `Form()`, the
  papers' objective on the spectrogram.
  """
  f = f or Form()
  until = max(style_layers + content_layers, key=nets.tap_depth)

  def fun(x, variables, targets, content_features, weights):
    spec = to_spectrogram(x, f)
    feats = net.apply(variables, nets.net_input(spec, net.orientation)[None], until=until)
    zero = jnp.zeros((), spec.dtype)
    terms = {
        "style": sum((losses.style_loss(feats[k], t) for k, t in targets.gram.items()), zero),
        "content": sum((losses.content_loss(feats[k], v) for k, v in content_features.items()),
                       zero),
        "bound": losses.bound_loss(spec),
    }
    logmag = losses.log_magnitude(spec, log_max=f.log_max, floor=targets.floor)
    if "spectrum" in f.extra:
      terms["spectrum"] = losses.quantile_loss(logmag, targets.spectrum)
    if "correlation" in f.extra:
      terms["correlation"] = losses.correlation_loss(logmag, targets.correlation)
    if "modulation" in f.extra:
      terms["modulation"] = losses.autocorrelation_loss(logmag[None], targets.modulation,
                                                        circular=f.loop)
    if set(BAND_TERMS) & set(f.extra):
      env = losses.band_envelopes(logmag, targets.filters, targets.band_scale,
                                  compression=BAND_COMPRESSION)
      if "band_spectrum" in f.extra:
        terms["band_spectrum"] = losses.quantile_loss(env, targets.band_spectrum)
      if "band_correlation" in f.extra:
        terms["band_correlation"] = losses.correlation_loss(env, targets.band_correlation)
      if "band_modulation" in f.extra:
        terms["band_modulation"] = losses.autocorrelation_loss(
            env[None], targets.band_modulation, circular=f.loop)
    if "autocorrelation" in f.extra:
      terms["autocorrelation"] = sum(losses.autocorrelation_loss(feats[k], t, circular=f.loop)
                                     for k, t in targets.autocorrelation.items())
    if "sliced" in f.extra:
      terms["sliced"] = sum(losses.sliced_wasserstein_loss(feats[k], t, targets.directions[k])
                            for k, t in targets.sliced.items())
    if "diversity" in f.extra:
      terms["diversity"] = losses.diversity_loss(spec, targets.style, window=f.diversity_window,
                                                 threshold=f.diversity_threshold)
    return losses.total_loss(terms, weights), terms

  return fun


def features(net: nets.StackedConv, variables: dict, spec: jnp.ndarray,
             layers: Sequence[str]) -> dict[str, jnp.ndarray]:
  """Features `{layer: [1, *spatial, channels]}` of one spectrogram `[time, freq]`."""
  feats = net.apply(variables, nets.net_input(spec, net.orientation)[None],
                    until=max(layers, key=nets.tap_depth))
  return {k: feats[k] for k in layers}


def band_filters(n_fft: int, sample_rate: int, bands: int) -> np.ndarray:
  """`[n_fft // 2 + 1, bands]` power gains of the `band_*` terms' ERB bands over STFT bins.

  Raises `InputError` if a band holds no bin (too many bands for `n_fft`).
  """
  frequency_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
  gains = metrics.erb_filterbank(frequency_hz, n_bands=bands, low_hz=BAND_LOW_HZ,
                                 high_hz=0.45 * sample_rate) ** 2
  empty = np.flatnonzero(gains.sum(axis=1) == 0)
  if empty.size:
    raise InputError(f"config.bands: {empty.size} of the {bands} ERB bands hold no STFT bin at "
                     f"n_fft={n_fft}; use fewer bands or a larger n_fft")
  return gains.T


def targets(c: ml_collections.ConfigDict, net: nets.StackedConv, variables: dict,
            style: Sequence[np.ndarray], s_layers: Sequence[str], f: Form) -> Targets:
  """The `Targets` of style spectrograms `[time_i, freq]` at layers `s_layers` under `f`."""
  style = [jnp.asarray(s) for s in style]
  feats = [features(net, variables, s, s_layers) for s in style]
  floor = LOG_FLOOR * jnp.maximum(max(float(spectral.decompress(s, log_max=c.log_max).max())
                                      for s in style), 1e-3)
  t = Targets(gram={k: losses.style_target([x[k] for x in feats]) for k in s_layers},
              floor=floor)
  logmags = [losses.log_magnitude(s, log_max=c.log_max, floor=floor) for s in style]
  if "spectrum" in f.extra:
    t = t._replace(spectrum=losses.sorted_values(logmags))
  if "correlation" in f.extra:
    t = t._replace(correlation=losses.correlation(logmags))
  if {"modulation", "band_modulation"} & set(f.extra):
    if c.modulation_lags >= min(s.shape[0] for s in style):
      raise InputError(f"config.modulation_lags ({c.modulation_lags}) must be below the "
                       f"{min(s.shape[0] for s in style)} frames of the shortest style")
  if "modulation" in f.extra:
    t = t._replace(modulation=jnp.mean(jnp.stack([losses.autocorrelation(
        m[None], max_lag=c.modulation_lags) for m in logmags]), axis=0))
  if set(BAND_TERMS) & set(f.extra):
    filters = jnp.asarray(band_filters(c.n_fft, c.sample_rate, c.bands), jnp.float32)
    raw = [losses.band_envelopes(m, filters, 1.0, compression=BAND_COMPRESSION) for m in logmags]
    scale = jnp.concatenate(raw).mean(axis=0)
    envs = [e / scale for e in raw]
    t = t._replace(filters=filters, band_scale=scale)
    if "band_spectrum" in f.extra:
      t = t._replace(band_spectrum=losses.sorted_values(envs))
    if "band_correlation" in f.extra:
      t = t._replace(band_correlation=losses.correlation(envs))
    if "band_modulation" in f.extra:
      t = t._replace(band_modulation=jnp.mean(jnp.stack([losses.autocorrelation(
          e[None], max_lag=c.modulation_lags) for e in envs]), axis=0))
  if "autocorrelation" in f.extra:
    for k in s_layers:
      steps = min(x[k].shape[1] for x in feats)
      if c.autocorrelation_lags >= steps:
        raise InputError(f"config.autocorrelation_lags ({c.autocorrelation_lags}) must be "
                         f"below the {steps} time steps of the shortest style at {k}")
    t = t._replace(autocorrelation={k: jnp.mean(jnp.stack([losses.autocorrelation(
        x[k], max_lag=c.autocorrelation_lags) for x in feats]), axis=0) for k in s_layers})
  if "sliced" in f.extra:
    keys = jax.random.split(jax.random.key(c.net.seed + 1), len(s_layers))
    directions = {}
    for key, k in zip(keys, s_layers, strict=True):
      d = jax.random.normal(key, (feats[0][k].shape[-1], c.sliced_projections))
      directions[k] = d / jnp.linalg.norm(d, axis=0)
    t = t._replace(directions=directions, sliced={
        k: losses.sorted_values([x[k] @ directions[k] for x in feats]) for k in s_layers})
  if "diversity" in f.extra:
    t = t._replace(style=jnp.concatenate(style, axis=0))
  return t
