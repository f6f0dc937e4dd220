"""Audio in, audio out: the calls a notebook or another program needs (`import jaxstyle`).

  import jaxstyle
  style = jaxstyle.load_audio("rain.wav")                # [samples] at 22050 Hz
  y = jaxstyle.texture(style, duration_s=10)               # [samples], configs/default.py
  c = jaxstyle.load_config("texture")                   # the full texture objective
  y = jaxstyle.texture(style, c, duration_s=10, seed=1)
  y = jaxstyle.stylize(content, style)                  # configs/stylize.py

Waveforms are mono float32 numpy arrays at the config's `sample_rate`. Nothing here
writes a file; `jaxstyle.pipeline` (behind the scripts) does, with plots and measures.
"""

from collections.abc import Sequence

import ml_collections
import numpy as np

from jaxstyle import audio
from jaxstyle import batch
from jaxstyle import blocks
from jaxstyle import checkpoint
from jaxstyle import config as config_lib
from jaxstyle import curves
from jaxstyle import inputs as inputs_lib
from jaxstyle import representation
from jaxstyle import synthesis
from jaxstyle.errors import InputError

load_config = config_lib.load


def load_audio(path: str, *, sample_rate: int = 22050, offset_s: float = 0.0,
               duration_s: float | None = None) -> np.ndarray:
  """A checked mono waveform `[samples]` from a file, resampled to `sample_rate` Hz:
  the part from `offset_s` seconds, `duration_s` long (default: to the end).

  Raises:
    InputError: a missing, unreadable, silent or non-finite file; an offset past its end.
  """
  y = audio.load(path, sample_rate=sample_rate, offset_s=offset_s, duration_s=duration_s)
  return audio.check(y, name=path, n_fft=1)


def spectrogram(y: np.ndarray, c: ml_collections.ConfigDict | None = None) -> np.ndarray:
  """The network-scale spectrogram `[time, bins]` of a waveform `[samples]` under config
  `c`'s representation (default: `load_config("default")`'s)."""
  c = load_config("default") if c is None else c
  return representation.analyze(np.asarray(y, np.float32), config_lib.representation_spec(c))


def resynthesize(spec: np.ndarray, c: ml_collections.ConfigDict | None = None, *,
                 length: int | None = None, seed: int = 0) -> np.ndarray:
  """A waveform `[length]` (default `hop_length * (time - 1)`) whose representation
  under config `c` is about `spec` `[time, bins]` (Griffin-Lim, or librosa's for cqt)."""
  c = load_config("default") if c is None else c
  length = c.hop_length * (len(spec) - 1) if length is None else length
  return representation.resynthesize(np.asarray(spec), config_lib.representation_spec(c),
                                     config_lib.phase_spec(c), length=length, seed=seed)[0]


def _checked(y, name: str, c: ml_collections.ConfigDict) -> np.ndarray:
  y = np.asarray(y, np.float32)
  if y.ndim != 1:
    raise InputError(f"{name} must be a mono waveform [samples], got shape {y.shape}")
  return audio.check(y, name=name, n_fft=c.n_fft)


def synthesize(c: ml_collections.ConfigDict, *, style: Sequence[np.ndarray],
               content: np.ndarray | None = None, n_frames: int | None = None,
               n_samples: int | None = None, seed: int = 0,
               variables: dict | None = None,
               waves: Sequence[np.ndarray] | None = None) -> synthesis.Result:
  """Texture synthesis (no content) or style transfer on spectrograms.

  Args:
    c: a checked config.
    style: style spectrograms `[time_i, bins]` (network scale, `spectrogram`); several
      clips of any lengths form one multi-texture target.
    content: content spectrogram `[time, bins]` for style transfer; the output has
      its shape.
    n_frames: output frames of a texture (default: the longest style); for
      `net.orientation=time`, where frames are channels, the style's.
    n_samples: output samples (default `hop_length * (n_frames - 1)`, a loop's
      `hop_length * n_frames`); they must make `n_frames` frames.
    seed: seed of the noise start and of Griffin-Lim's phases.
    variables: the frozen network's (`jaxstyle.checkpoint.variables`); needed when
      `c.params` names a checkpoint, else by default random from `c.net.seed`.
    waves: the style clips' waveforms `[samples_i]`, needed by `c.auditory_weight`.

  Returns:
    `synthesis.Result`: the audio, the best spectrogram, the loss history.
  """
  if content is not None:
    n_frames = len(content)
  n_frames = n_frames or max(len(s) for s in style)
  n_samples = n_samples or c.hop_length * (n_frames if c.loop else n_frames - 1)
  spec = config_lib.spec(c, n_samples=n_samples)
  if spec.n_frames != n_frames:
    raise ValueError(f"{n_samples} samples do not make {n_frames} frames")
  if variables is None and c.params:
    raise ValueError(f"config.params names a checkpoint ({c.params}): load it with "
                     "jaxstyle.checkpoint.variables and pass the variables")
  (result,) = batch.synthesize([batch.Job(spec, style, content, seed, waves=waves)],
                               variables=variables)
  return result


def _render(c, style, content, n_samples: int, seed: int) -> np.ndarray:
  r = config_lib.representation_spec(c)
  specs = [representation.analyze(y, r) for y in style]
  content = None if content is None else representation.analyze(content, r)
  n_frames = r.n_frames(n_samples, circular=c.loop)
  return synthesize(c, style=specs, content=content, n_frames=n_frames, n_samples=n_samples,
                    seed=seed, variables=checkpoint.variables(c, n_frames, specs[0].shape[1]),
                    waves=style).audio


def _curve(value, name: str) -> curves.Curve | None:
  """A curve from a number (held), a `curves.Curve`, or `(seconds, value)` pairs."""
  if value is None or isinstance(value, curves.Curve):
    return value
  if np.ndim(value) == 0:
    return curves.constant(float(value), name)
  times, values = zip(*value, strict=True)
  return curves.Curve(tuple(map(float, times)), tuple(map(float, values)), name)


def texture(style: np.ndarray | Sequence[np.ndarray], c: ml_collections.ConfigDict | None = None,
            *, duration_s: float | None = None, seed: int = 0,
            weights: Sequence[float] | None = None,
            morph_to: np.ndarray | Sequence[np.ndarray] | None = None,
            morph_curve: str | curves.Curve = "linear", level_db=None,
            tilt_db_per_octave=None) -> np.ndarray:
  """A texture `[samples]` with the statistics of `style`.

  Args:
    style: a waveform `[samples]` at `c.sample_rate`, or a list of them (one target
      mixing their statistics).
    c: a config (default: `load_config("default")`, a small fast net).
    duration_s: output length in seconds (default: the longest style clip); a `loop` config's is
      rounded up to a whole ring (`config.output_samples`). Longer than
      `c.block_s`, it is made in blocks (`jaxstyle.blocks`).
    seed: seed of the noise init and the phase reconstruction.
    weights: one per style clip: the target is the weighted barycentre of their
      targets (`objective.barycentre`), whatever their lengths.
    morph_to: a waveform (or a list) to morph into along `morph_curve` (`linear` or
      `smooth`, from the first block to the last, `blocks.rise_s`; or a `curves.Curve`
      of shares), in blocks (`blocks.MORPH_BLOCK_S`).
    level_db, tilt_db_per_octave: envelopes applied to the output (`curves.shape`): a
      number, a `curves.Curve`, or `(seconds, value)` pairs.

  Raises:
    InputError: bad audio (not mono, too short, silent, non-finite), a bad config, an
      output shorter than one frame, or bad weights or curves.
  """
  c = load_config("default") if c is None else c
  config_lib.check(c)
  clips = [style] if np.ndim(style) == 1 else list(style)
  clips = [_checked(y, f"style {i}", c) for i, y in enumerate(clips)]
  ends = [] if morph_to is None else [morph_to] if np.ndim(morph_to) == 1 else list(morph_to)
  ends = [_checked(y, f"morph_to {i}", c) for i, y in enumerate(ends)]
  variation = inputs_lib.Variation(
      None if weights is None else tuple(map(float, weights)), (), morph_curve,
      _curve(level_db, "level_db"), _curve(tilt_db_per_octave, "tilt_db_per_octave"))
  variation.check(len(clips), morph=bool(ends), content=False, loop=c.loop)
  n_samples = (max(y.size for y in clips) if duration_s is None
               else int(round(duration_s * c.sample_rate)))
  if n_samples < c.n_fft:
    raise InputError(f"duration_s={duration_s} is too short: at least one frame "
                     f"({c.n_fft / c.sample_rate:.3f} s) is needed")
  n_samples = config_lib.output_samples(c, n_samples)
  shaper = inputs_lib.shaper_of(variation, c.sample_rate)
  if ends or blocks.needed(n_samples, block_s=c.block_s, sample_rate=c.sample_rate, loop=c.loop):
    p, spec = config_lib.in_blocks(c, n_samples, morph=bool(ends))
  else:
    p, spec = None, config_lib.spec(c, n_samples=n_samples)
  r = spec.representation
  specs = [representation.analyze(y, r) for y in clips]
  variables = checkpoint.variables(c, spec.n_frames, specs[0].shape[1])
  targets = inputs_lib.targets_of(spec, specs, variables, waves=clips, variation=variation,
                                  morph=[representation.analyze(y, r) for y in ends],
                                  morph_waves=ends, plan=p, n_samples=n_samples)
  if p is not None:
    parts = blocks.synthesize(spec, targets, p, n_samples=n_samples, seed=seed,
                              variables=variables, shaper=shaper)
    return np.concatenate([b.audio for b in parts])
  (result,) = batch.synthesize([batch.Job(spec, specs, None, seed, targets)], variables=variables)
  return result.audio if shaper is None else shaper(result.audio, 0)


def stylize(content: np.ndarray, style: np.ndarray, c: ml_collections.ConfigDict | None = None,
            *, seed: int = 0) -> np.ndarray:
  """`content` `[samples]` in the texture of `style` `[samples]`; as long as `content`.

  `c` defaults to `load_config("stylize")`. Raises `InputError` as `texture` does.
  """
  c = load_config("stylize") if c is None else c
  config_lib.check(c)
  content = _checked(content, "content", c)
  return _render(c, [_checked(style, "style", c)], content, content.size, seed)
