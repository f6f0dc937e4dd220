"""Curves over an output's time: the share of a morph, and level and spectral-tilt
envelopes applied to a texture's audio.

A `Curve` is a value at a few times (seconds), linear in between and constant beyond:
`morph` gives the share of the second style along a morph; `shape` applies a level
curve (dB) and a spectral-tilt curve (dB per octave about `PIVOT_HZ`) to a waveform
`[samples]` that starts `offset` samples into the output, so that blocks of one output
shaped apart join as if shaped whole. Both envelopes change over at least a frame (the
tilt's STFT) and follow the curve's straight lines, so they add no click.
"""

import dataclasses

import numpy as np

from jaxstyle import spectral
from jaxstyle.errors import InputError

MORPH_CURVES = ("linear", "smooth")
PIVOT_HZ = 1000.0  # a tilt turns the spectrum about this frequency
LOWEST_HZ = 20.0  # below it the tilt's gain is held at its value here
SHAPE_N_FFT, SHAPE_HOP = 2048, 512


@dataclasses.dataclass(frozen=True)
class Curve:
  """`values` at `times_s` (strictly increasing), linear in between, constant beyond.

  Raises `InputError` naming `name` for empty, unequal, non-finite or unordered points,
  or values outside `[low, high]`.
  """

  times_s: tuple[float, ...]
  values: tuple[float, ...]
  name: str = "curve"
  low: float = -np.inf
  high: float = np.inf

  def __post_init__(self):
    t, v = np.asarray(self.times_s, float), np.asarray(self.values, float)
    if t.size == 0 or t.shape != v.shape:
      raise InputError(f"{self.name}: needs pairs of seconds and values, got {t.size} times "
                       f"and {v.size} values")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(v))):
      raise InputError(f"{self.name}: every time and value must be a finite number")
    if np.any(np.diff(t) <= 0):
      raise InputError(f"{self.name}: the times must increase, got {list(t)}")
    if np.any(v < self.low) or np.any(v > self.high):
      raise InputError(f"{self.name}: values must be in [{self.low:g}, {self.high:g}], got "
                       f"{v.min():g} to {v.max():g}")

  def at(self, t_s) -> np.ndarray:
    """The curve at times `t_s` (seconds, any shape)."""
    return np.interp(t_s, self.times_s, self.values)


def constant(value: float, name: str = "curve", **bounds) -> Curve:
  """A curve that holds `value`."""
  return Curve((0.0,), (float(value),), name, **bounds)


def morph(kind: str | Curve, start_s: float, end_s: float) -> Curve:
  """The share of the second style along a morph: `linear` (0 at `start_s` to 1 at
  `end_s`, held beyond), `smooth` (the same as a raised cosine: slow at both ends), or a
  `Curve` of shares in [0, 1] (its own times)."""
  if isinstance(kind, Curve):
    return dataclasses.replace(kind, name=kind.name, low=0.0, high=1.0)
  if kind == "linear":
    return Curve((start_s, end_s), (0.0, 1.0), "--morph_curve", 0.0, 1.0)
  if kind == "smooth":
    u = np.linspace(0.0, 1.0, 65)
    return Curve(tuple(start_s + u * (end_s - start_s)), tuple(0.5 - 0.5 * np.cos(np.pi * u)),
                 "--morph_curve", 0.0, 1.0)
  raise InputError(f"--morph_curve must be one of {MORPH_CURVES} or a CSV file of seconds and "
                   f"shares, got {kind!r}")


def tilt_gains(tilt_db_per_octave: np.ndarray, frequency_hz: np.ndarray) -> np.ndarray:
  """`[..., freq]` amplitude gains of tilts `[...]` (dB per octave about `PIVOT_HZ`)."""
  octaves = np.log2(np.maximum(frequency_hz, LOWEST_HZ) / PIVOT_HZ)
  return 10.0 ** (np.asarray(tilt_db_per_octave)[..., None] * octaves / 20.0)


def shape(y: np.ndarray, *, sample_rate: int, level_db: Curve | None = None,
          tilt: Curve | None = None, offset: int = 0) -> np.ndarray:
  """`y` `[samples]` (from sample `offset` of the output) with its level following
  `level_db` (dB, sample by sample) and its spectrum tilted by `tilt` (dB per octave,
  per frame of a `SHAPE_N_FFT`-sample STFT, overlap-added), both read at the output's
  time; float32 `[samples]`."""
  y = np.asarray(y, np.float32)
  if tilt is not None:
    kw = dict(n_fft=SHAPE_N_FFT, hop_length=SHAPE_HOP)
    spec = np.asarray(spectral.stft(y, **kw))
    frame_s = (offset + SHAPE_HOP * np.arange(len(spec))) / sample_rate
    gains = tilt_gains(tilt.at(frame_s), np.fft.rfftfreq(SHAPE_N_FFT, 1.0 / sample_rate))
    y = np.asarray(spectral.istft(spec * gains, length=y.size, **kw))
  if level_db is not None:
    t = (offset + np.arange(y.size)) / sample_rate
    y = y * (10.0 ** (level_db.at(t) / 20.0)).astype(np.float32)
  return y.astype(np.float32)
