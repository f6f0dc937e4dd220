"""The checked inputs of one run: audio loaded, spectrograms, output length, the
network's variables, and the checks that refuse a run the machine cannot hold.

`load` is the first step of `pipeline.run`, `run_batch` and `sweep.run`: every file
is read and checked before any work starts.
"""

from collections.abc import Callable, Sequence
import dataclasses
import math
import os
import shutil

from absl import logging
import jax
import ml_collections
import numpy as np

from jaxstyle import audio
from jaxstyle import batch
from jaxstyle import blocks
from jaxstyle import checkpoint
from jaxstyle import config as config_lib
from jaxstyle import curves
from jaxstyle import examples
from jaxstyle import nets
from jaxstyle import objective
from jaxstyle import representation
from jaxstyle import synthesis
from jaxstyle.errors import InputError

EXAMPLE_NAME = "example"


def _clip(path: str, c: ml_collections.ConfigDict, *, offset_s: float = 0.0,
          max_s: float | None = None) -> np.ndarray:
  y = audio.load(path, sample_rate=c.sample_rate, offset_s=offset_s, duration_s=max_s)
  return audio.check(y, name=path, n_fft=c.n_fft)


def _samples(duration_s: float, c: ml_collections.ConfigDict) -> int:
  n = int(round(duration_s * c.sample_rate)) if np.isfinite(duration_s) else 0
  if n < c.n_fft:
    raise InputError(f"--duration_s={duration_s} s is too short: at least one frame "
                     f"({c.n_fft / c.sample_rate:.3f} s) is needed")
  return n


def memory_bytes(c: ml_collections.ConfigDict, n_frames: int, n_freq: int, n_samples: int
                 ) -> int:
  """A lower bound of the memory of one synthesis of `n_frames` x `n_freq` (`n_samples` of
  audio), in bytes: that of its larger stage.

  The spectrogram stage: float32 L-BFGS state (`2 * history_size + 4` copies of the
  spectrogram) and the first stack's convolution, its input patches and the outputs kept
  for the gradient. The waveform stage (`refine_iterations`): the L-BFGS state of the
  waveform and, with the auditory term, what the gradient keeps of each ERB band: its
  one-sided spectrum and analytic signal (complex64), power and compressed envelope
  (float32), each `bands` x `n_samples` (the spectrum half as long).
  """
  spatial, in_channels = nets.input_layout(c.net.orientation, n_frames, n_freq)
  positions = math.prod(spatial)
  width = max(config_lib.kernel_sizes(c), default=c.net.kernel_size)
  patches = width ** (2 if c.net.orientation == "2d" else 1) * in_channels
  spectrogram = 4 * (n_frames * n_freq * (2 * c.history_size + 4)
                     + positions * (patches + 3 * c.net.channels))
  waveform = 0
  if c.refine_iterations:
    bands = c.bands if c.auditory_weight else 0
    waveform = 4 * n_samples * (2 * c.history_size + 4) + 20 * bands * n_samples
  return max(spectrogram, waveform)


def check_memory(c: ml_collections.ConfigDict, n_frames: int, n_freq: int, n_samples: int
                 ) -> None:
  """Refuses a synthesis whose `memory_bytes` exceed the machine's (or device's) memory."""
  need = memory_bytes(c, n_frames, n_freq, n_samples)
  have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
  stats = jax.local_devices()[0].memory_stats() or {}
  have = min(have, stats.get("bytes_limit", have))
  if need > have:
    raise InputError(f"{n_frames} output frames need at least {need / 2**30:.3g} GiB, more than "
                     f"the {have / 2**30:.3g} GiB here: ask for a shorter --duration_s")


@dataclasses.dataclass(frozen=True)
class Variation:
  """How a texture's targets mix and move over time, and the envelopes applied to it.

  Attributes:
    weights: one per style file: the target is their targets' weighted barycentre
      (`objective.barycentre`), whatever the clips' lengths; None: the clips' frames
      pooled into one target (a longer clip weighs more).
    morph_to: style file(s) of a morph's end: the output starts with the style's
      targets and ends with theirs (`objective.interpolate`), made in blocks of at most
      `blocks.MORPH_BLOCK_S`, each with its own targets.
    morph_curve: the share of `morph_to` over time (`curves.morph`, `blocks.rise_s`).
    level_db, tilt_db_per_octave: envelopes applied to the audio (`curves.shape`).
  """

  weights: tuple[float, ...] | None = None
  morph_to: tuple[str, ...] = ()
  morph_curve: str | curves.Curve = "linear"
  level_db: curves.Curve | None = None
  tilt_db_per_octave: curves.Curve | None = None

  def check(self, n_styles: int, *, morph: bool, content: bool, loop: bool) -> None:
    """Refuses, with `InputError`, weights that are not one per style (or negative, or
    all 0), a morph curve without a morph, and a morph of style transfer or of a loop."""
    if self.weights is not None:
      if len(self.weights) != n_styles:
        raise InputError(f"--weights has {len(self.weights)} value(s) for {n_styles} style "
                         "file(s): give one weight per --style file")
      if not all(np.isfinite(w) and w >= 0 for w in self.weights) or not sum(self.weights) > 0:
        raise InputError(f"--weights must be numbers of at least 0, not all 0, got "
                         f"{list(self.weights)}")
    if not morph and self.morph_curve != "linear":
      raise InputError("--morph_curve is the share of --morph_to over time: give --morph_to")
    if morph and content:
      raise InputError("--morph_to morphs one texture into another; style transfer follows "
                       "its --content from start to end: drop one of them")
    if morph and loop:
      raise InputError("--loop makes a seamless loop, whose end runs into its start; a morph "
                       "ends on another sound: drop --loop or --morph_to")


STILL = Variation()  # the style files pooled into one target that holds still; no curves


def curve(value: str, *, name: str, **bounds) -> curves.Curve:
  """A curve from a flag: a number (held), or a two-column CSV file of seconds and values
  (a header line is skipped). Raises `InputError` naming `name`."""
  try:
    return curves.constant(float(value), name, **bounds)
  except ValueError:
    pass
  if not os.path.isfile(value):
    raise InputError(f"{name}={value}: not a number, and no such CSV file")
  try:
    with open(value) as f:
      rows = [line.split(",") for line in f.read().splitlines() if line.strip()]
    if rows and not _number(rows[0][0]):
      rows = rows[1:]
    times, values = zip(*((float(t), float(v)) for t, v in rows), strict=True)
  except ValueError:
    raise InputError(f"{name}={value}: expected lines of two numbers, seconds and value") from None
  return curves.Curve(times, values, name, **bounds)


def _number(text: str) -> bool:
  try:
    float(text)
  except ValueError:
    return False
  return True


@dataclasses.dataclass(frozen=True)
class Inputs:
  """The checked audio of one synthesis, its spectrograms, the output length and the
  synthesis' spec (of one block, for an output made in blocks)."""

  styles: list[np.ndarray]  # waveforms [samples]
  style_names: list[str]  # file paths, or EXAMPLE_NAME
  style_specs: list[np.ndarray]  # network scale [time, freq]
  content: np.ndarray | None
  content_path: str | None
  content_spec: np.ndarray | None
  n_samples: int  # of the output
  n_frames: int
  spec: synthesis.Spec  # what the program makes (one block of a long output)
  plan: blocks.Plan | None = None  # longer than config.block_s (or a morph): made in blocks
  variation: Variation = STILL
  morph_specs: list[np.ndarray] | None = None  # network scale [time, freq]: a morph's end
  morphs: list[np.ndarray] | None = None  # waveforms [samples]: a morph's end

  @property
  def long(self) -> bool:
    """Whether the output is made in blocks (`jaxstyle.blocks`)."""
    return self.plan is not None

  def name(self) -> str:
    """The default output stem, from the input file names."""
    stem = lambda p: os.path.splitext(os.path.basename(p))[0]  # noqa: E731
    name = "_".join(stem(p) for p in self.style_names)
    return name if self.content_path is None else f"{stem(self.content_path)}_x_{name}"


def load(c: ml_collections.ConfigDict, *, style_paths: Sequence[str],
         content_path: str | None, duration_s: float | None, shortest: bool = False,
         offset_s: float = 0.0, clip_s: float | None = None,
         variation: Variation = STILL) -> Inputs:
  """Loads and checks the audio of one synthesis (or, for `run_batch`, of its targets).

  Of each style file (and `variation.morph_to` file), the part from `offset_s`,
  `clip_s` long (default: to the end). The output is `duration_s` long, else as the
  content, else as the longest style clip (the shortest if `shortest`).
  """
  if content_path is None and not style_paths:
    styles = [examples.birds_and_rain(sample_rate=c.sample_rate)]
    style_names = [EXAMPLE_NAME]
  elif not style_paths:
    raise InputError("style transfer needs at least one --style file")
  elif not all(p.strip() for p in style_paths):
    raise InputError(f"--style={','.join(style_paths)} holds an empty file name")
  else:
    styles = [_clip(p, c, offset_s=offset_s, max_s=clip_s) for p in style_paths]
    style_names = list(style_paths)
  v = variation
  v.check(len(styles), morph=bool(v.morph_to), content=content_path is not None, loop=c.loop)
  morphs = [_clip(p, c, offset_s=offset_s, max_s=clip_s) for p in v.morph_to]
  content = None if content_path is None else _clip(content_path, c, max_s=duration_s)
  if content is not None and duration_s is not None and content.size < _samples(duration_s, c):
    raise InputError(f"--duration_s={duration_s} s is longer than the content "
                     f"({content.size / c.sample_rate:.2f} s)")
  if content is not None:
    n_samples = content.size
  elif duration_s is not None:
    n_samples = _samples(duration_s, c)
  else:
    n_samples = (min if shortest else max)(s.size for s in styles)
  n_samples = config_lib.output_samples(c, n_samples)
  spec = config_lib.spec(c, n_samples=n_samples)
  plan = None
  if morphs:  # each block its own targets: blocks short enough for the targets to move
    plan, spec = config_lib.in_blocks(c, n_samples, morph=True)
    curves.morph(v.morph_curve, *blocks.rise_s(plan, n_samples, c.sample_rate))
  elif content is None and blocks.needed(n_samples, block_s=c.block_s,
                                         sample_rate=c.sample_rate, loop=c.loop):
    plan, spec = config_lib.in_blocks(c, n_samples)
  r = spec.representation
  style_specs = [representation.analyze(y, r) for y in styles]
  check_memory(c, spec.n_frames, style_specs[0].shape[1], spec.n_samples)
  return Inputs(styles, style_names, style_specs, content, content_path,
                None if content is None else representation.analyze(content, r), n_samples,
                r.n_frames(n_samples, circular=c.loop), spec, plan, v,
                [representation.analyze(y, r) for y in morphs] or None, morphs or None)


def targets_of(spec: synthesis.Spec, style: Sequence[np.ndarray], variables: dict, *,
               waves: Sequence[np.ndarray], variation: Variation = STILL,
               morph: Sequence[np.ndarray] | None = None,
               morph_waves: Sequence[np.ndarray] | None = None,
               plan: blocks.Plan | None = None,
               n_samples: int = 0) -> objective.Targets | blocks.Schedule:
  """The targets of style spectrograms `[time_i, freq]` and their waveforms `waves`
  `[samples_i]`: pooled, or with `variation.weights` their barycentre; with `morph` (the
  end's spectrograms, and `morph_waves` its waveforms) a function of the output's time
  along `variation.morph_curve` (`blocks.morph`) over the blocks `plan` of `n_samples`
  (`blocks.rise_s`)."""
  if variation.weights is None:
    start = batch.targets(spec, style, variables, waves)
  else:
    start = objective.barycentre([batch.targets(spec, [s], variables, [w])
                                  for s, w in zip(style, waves, strict=True)], variation.weights)
  if not morph:
    return start
  share = curves.morph(variation.morph_curve,
                       *blocks.rise_s(plan, n_samples, spec.representation.sample_rate))
  return blocks.morph(start, batch.targets(spec, morph, variables, morph_waves), share)


def targets(inputs: Inputs, variables: dict) -> objective.Targets | blocks.Schedule:
  """`targets_of` the style (and morph) files of `inputs`."""
  return targets_of(inputs.spec, inputs.style_specs, variables, waves=inputs.styles,
                    variation=inputs.variation, morph=inputs.morph_specs,
                    morph_waves=inputs.morphs, plan=inputs.plan, n_samples=inputs.n_samples)


def shaper_of(variation: Variation, sample_rate: int
              ) -> Callable[[np.ndarray, int], np.ndarray] | None:
  """`(audio, offset) -> audio` applying `variation`'s level and tilt curves, or None."""
  v = variation
  if v.level_db is None and v.tilt_db_per_octave is None:
    return None
  return lambda y, offset: curves.shape(y, sample_rate=sample_rate, level_db=v.level_db,
                                        tilt=v.tilt_db_per_octave, offset=offset)


def shaper(inputs: Inputs) -> Callable[[np.ndarray, int], np.ndarray] | None:
  """`shaper_of` the variation of `inputs`."""
  return shaper_of(inputs.variation, inputs.spec.representation.sample_rate)


def variables(c: ml_collections.ConfigDict, inputs: Inputs) -> dict:
  """The network's variables (`checkpoint.variables`) for the spectrograms of `inputs`."""
  return checkpoint.variables(c, inputs.spec.n_frames, inputs.style_specs[0].shape[1])


def log(inputs: Inputs, c: ml_collections.ConfigDict) -> None:
  """Says what is about to be made, in one line."""
  styles = ", ".join(os.path.basename(n) for n in inputs.style_names)
  what = (f"style transfer of {os.path.basename(inputs.content_path)} in the style of {styles}"
          if inputs.content is not None else f"a texture of {styles}")
  logging.info("%s: %.2f s (%d frames), %d L-BFGS iterations", what,
               inputs.n_samples / c.sample_rate, inputs.n_frames, c.iterations)


def check_disk(output_dir: str, need: float) -> None:
  """Refuses an output whose files (`need` bytes) the disk under `output_dir` cannot hold."""
  existing = os.path.abspath(output_dir)
  while not os.path.isdir(existing):
    existing = os.path.dirname(existing)
  free = shutil.disk_usage(existing).free
  if need > free:
    raise InputError(f"this output needs about {need / 2**30:.3g} GiB on the disk of "
                     f"{output_dir}, which has {free / 2**30:.3g} GiB free: ask for a shorter "
                     "--duration_s")
