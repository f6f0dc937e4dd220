"""Texture synthesis and style transfer on network-scale spectrograms `[time, freq]`.

`synthesize` optimises a spectrogram (or waveform) with L-BFGS so that the terms of
`jaxstyle.objective` match the style clip(s) and, for style transfer, the content.
The network is frozen; only the spectrogram is differentiated. `problem` builds the
start and the objective's arguments; `batch` solves many of them in one program.
"""

from collections.abc import Callable, Sequence
import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxstyle import nets
from jaxstyle import objective
from jaxstyle import optimize
from jaxstyle import spectral
from jaxstyle.errors import InputError

# Noise init, as the reference code: uniform in [0, NOISE_INIT_SCALE).
NOISE_INIT_SCALE = 0.1
# Waveform-domain noise init `uniform`: white noise of this standard deviation.
WAVEFORM_NOISE_STD = 0.01
NOISE_INITS = ("uniform", "spectrum")


@dataclasses.dataclass
class Result:
  """A synthesized spectrogram `[time, freq]` (network scale) and how it was made.

  `waveform` `[samples]` is the optimised waveform of the `waveform` domain (its
  spectrogram is `spectrogram`), else None: the spectrogram still needs a phase.
  """

  spectrogram: np.ndarray
  history: dict[str, list[float]]
  stop_reason: str | None
  compile_s: float
  waveform: np.ndarray | None = None


def result(f: objective.Form, x: jnp.ndarray, history: dict[str, list[float]],
           stop_reason: str | None, compile_s: float) -> Result:
  """The `Result` of a solved variable `x` of form `f`."""
  spec = np.asarray(objective.to_spectrogram(x, f))
  waveform = np.asarray(x) if f.domain == "waveform" else None
  return Result(spec, history, stop_reason, compile_s, waveform)


class Problem(NamedTuple):
  """One synthesis as an optimisation problem: minimise `fun(x, *args)` from `x0`.

  Attributes:
    fun: the objective (`objective.function`), shared by every problem of one
      network, layers, task and form.
    x0: the initial spectrogram `[time, freq]` or waveform `[samples]`.
    variables: the frozen network's variables (shared by the jobs of a batch).
    targets: the style's `objective.Targets`.
    content_features: `{layer: [1, *spatial, channels]}` of the content, or `{}`.
    weights: the loss weights (`objective.weights`).
    form: the objective's `objective.Form`.
  """

  fun: Callable[..., Any]
  x0: jnp.ndarray
  variables: dict
  targets: objective.Targets
  content_features: dict
  weights: dict
  form: objective.Form

  @property
  def args(self) -> tuple[Any, ...]:
    """The objective's arguments after `x`."""
    return self.variables, self.targets, self.content_features, self.weights


def continue_frames(delta: jnp.ndarray, prefix: jnp.ndarray, base: jnp.ndarray,
                    ramp_frames: int) -> jnp.ndarray:
  """`[held + free, freq]`: `prefix` `[held, freq]` held, then `base + r * delta` (both
  `[free, freq]`), where `r` rises linearly from `1 / (ramp_frames + 1)` to 1 over the
  first `ramp_frames` free frames: a change to the free frames fades in after the held
  ones instead of stepping."""
  ramp = jnp.minimum(jnp.arange(1, len(base) + 1) / (ramp_frames + 1), 1.0)[:, None]
  return jnp.concatenate([prefix, base + ramp * delta])


@functools.cache
def continued(fun: Callable[..., Any], ramp_frames: int) -> Callable[..., Any]:
  """`g(delta, prefix, base, *args) = fun(continue_frames(delta, prefix, base,
  ramp_frames), *args)`: `fun` with the first frames held, optimised from `delta = 0`.
  Cached, as `objective.function`, so the blocks of one output share one compiled solver."""

  def g(delta, prefix, base, *args):
    return fun(continue_frames(delta, prefix, base, ramp_frames), *args)

  return g


def style_rms(c: ml_collections.ConfigDict, style: Sequence[np.ndarray]) -> jnp.ndarray:
  """`[freq]` the RMS STFT magnitude of each bin over the style spectrograms."""
  return jnp.sqrt(jnp.mean(jnp.concatenate(
      [spectral.decompress(jnp.asarray(s), log_max=c.log_max) ** 2 for s in style]), axis=0))


def shaped_noise(magnitude: jnp.ndarray, key: jax.Array, *, n_samples: int, n_fft: int,
                 hop_length: int, circular: bool = False) -> jnp.ndarray:
  """Noise `[n_samples]` whose STFT has about the RMS magnitude `[freq]` in each bin:
  random phases under that magnitude, inverted, then each bin rescaled once more to
  make up for the level that overlap-adding random phases loses (about 6 dB).
  `circular`: a seamless loop (`spectral.stft`'s ring)."""
  n_frames = spectral.num_frames(n_samples, hop_length=hop_length, n_fft=n_fft, circular=circular)
  phase = jax.random.uniform(key, (n_frames, magnitude.shape[-1]), maxval=2 * jnp.pi)
  stft = functools.partial(spectral.stft, n_fft=n_fft, hop_length=hop_length, circular=circular)
  istft = functools.partial(spectral.istft, n_fft=n_fft, hop_length=hop_length, length=n_samples,
                            circular=circular)
  spec = stft(istft(magnitude * jnp.exp(1j * phase)))
  rms = jnp.sqrt(jnp.mean(jnp.abs(spec) ** 2, axis=0))
  return istft(spec * magnitude / jnp.maximum(rms, 1e-12))


def output_length(c: ml_collections.ConfigDict, n_samples: int) -> tuple[int, int]:
  """`(frames, samples)` of an output of about `n_samples` samples under config `c`.

  As asked, with `spectral.num_frames` frames; a `loop` is rounded up to a whole number
  of `hop_length * 2**net.stacks` samples, a ring that its STFT hops and every pooling
  layer's pairs divide evenly.
  """
  if not c.loop:
    return spectral.num_frames(n_samples, hop_length=c.hop_length, n_fft=c.n_fft), n_samples
  unit = 2**c.net.stacks
  n_frames = unit * max(-(-n_samples // (c.hop_length * unit)), 1)
  while n_frames * c.hop_length < c.n_fft // 2:
    n_frames += unit
  return n_frames, n_frames * c.hop_length


def problem(
    c: ml_collections.ConfigDict,
    *,
    style: Sequence[np.ndarray],
    content: np.ndarray | None = None,
    n_frames: int | None = None,
    n_samples: int | None = None,
    seed: int = 0,
    variables: dict | None = None,
) -> Problem:
  """The objective, start and targets of `synthesize` (same arguments), not yet solved."""
  n_freq = style[0].shape[-1]
  if content is not None:
    n_frames = content.shape[0]
  n_frames = n_frames or max(s.shape[0] for s in style)
  if c.net.orientation == "time":
    lengths = {s.shape[0] for s in style} | {n_frames}
    if len(lengths) > 1:
      raise InputError(
          "the 'time' orientation uses time frames as channels, so the output and every "
          f"style (and content) clip must have the same number of frames; got {sorted(lengths)} "
          "(set the duration to the style's, or use net.orientation=freq or 2d)")
  if c.loop and content is not None:
    raise InputError("config.loop makes a seamless texture loop; style transfer follows its "
                     "content from start to end, which is not a loop")
  f = objective.form(c)
  net = nets.from_config(c)
  if variables is None and c.params:
    raise ValueError(f"config.params names a checkpoint ({c.params}): load it with "
                     "jaxstyle.checkpoint.variables and pass the variables")
  if variables is None:
    variables = nets.random_variables(c, n_frames, n_freq)
  s_layers, c_layers = objective.style_layers(c), objective.content_layers(c)
  if content is None:
    c_layers = ()
  variables = nets.prepare(c, variables, max(map(nets.tap_depth, s_layers + c_layers)))
  # The style clips are not loops: their features see zero-padded ends.
  targets = objective.targets(c, net.clone(circular=False), variables, style, s_layers, f)
  content_feats = {} if content is None else objective.features(
      net, variables, jnp.asarray(content), c_layers)
  n_samples = n_samples or c.hop_length * (n_frames if c.loop else n_frames - 1)
  if spectral.num_frames(n_samples, hop_length=c.hop_length, n_fft=c.n_fft,
                         circular=c.loop) != n_frames:
    raise ValueError(f"{n_samples} samples do not make {n_frames} frames")
  if c.loop and output_length(c, n_samples) != (n_frames, n_samples):
    raise ValueError(f"a loop of {n_samples} samples is not a whole number of "
                     f"hop_length * 2**net.stacks (see output_length)")
  key = jax.random.key(seed)
  if content is not None and c.init == "content":
    if f.domain == "waveform":
      raise InputError("config.domain=waveform starts style transfer from noise: set "
                       "init=noise (the content shapes it through content_weight)")
    x0 = jnp.asarray(content, jnp.float32)
  elif c.noise_init == "spectrum":
    x0 = shaped_noise(style_rms(c, style), key, n_samples=n_samples, n_fft=c.n_fft,
                      hop_length=c.hop_length, circular=c.loop)
    if f.domain == "spectrogram":
      x0 = spectral.spectrogram(x0, n_fft=c.n_fft, hop_length=c.hop_length, log_max=c.log_max,
                                circular=c.loop)
  elif f.domain == "waveform":
    x0 = WAVEFORM_NOISE_STD * jax.random.normal(key, (n_samples,))
  else:
    x0 = NOISE_INIT_SCALE * jax.random.uniform(key, (n_frames, n_freq))
  if f.domain == "spectrogram":
    x0 = objective.to_variable(x0, f, targets.floor)
  return Problem(objective.function(net, s_layers, c_layers, f), x0, variables, targets,
                 content_feats, objective.weights(c), f)


def synthesize(
    c: ml_collections.ConfigDict,
    *,
    style: Sequence[np.ndarray],
    content: np.ndarray | None = None,
    n_frames: int | None = None,
    n_samples: int | None = None,
    seed: int = 0,
    variables: dict | None = None,
) -> Result:
  """Texture synthesis (no content) or style transfer.

  Args:
    c: a checked config (`jaxstyle.config.check`).
    style: style spectrograms `[time_i, freq]` (network scale); several clips of any
      lengths form one multi-texture target (features concatenated along time).
    content: content spectrogram `[time, freq]` for style transfer; the output has
      its shape.
    n_frames: output frames for texture synthesis (default: the longest style).
      Any value for the `freq` and `2d` orientations; for `time`, where frames are
      channels, it must equal the style's frame count.
    n_samples: output samples of the waveform domain (default `hop_length *
      (n_frames - 1)`, a loop's `hop_length * n_frames`); it must make `n_frames`
      frames (see `output_length`).
    seed: seed of the noise init.
    variables: frozen network variables (`jaxstyle.checkpoint.variables`); needed
      when `c.params` names a checkpoint, else by default random from `c.net.seed`.

  Returns:
    The best spectrogram (and, in the waveform domain, waveform) found and the loss
    history.
  """
  p = problem(c, style=style, content=content, n_frames=n_frames, n_samples=n_samples,
              seed=seed, variables=variables)
  solver = optimize.lbfgs(p.fun, solver=c.solver, history_size=c.history_size)
  res = optimize.minimize(solver, p.x0, *p.args, iterations=c.iterations, log_every=c.log_every,
                          stall_iterations=c.stall_iterations, stall_tolerance=c.stall_tolerance)
  return result(p.form, res.x, res.history, res.stop_reason, res.compile_s)
