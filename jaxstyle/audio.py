"""Audio files in, and the checks that make bad audio fail early and clearly.

Waveforms are float32 numpy arrays, mono `[samples]` or `[channels, samples]`. Files
are written by `jaxstyle.outputs`.
"""

import math
import os

import librosa
import numpy as np
import soundfile as sf

from jaxstyle.errors import InputError

# Peak amplitude under which a clip counts as silent (about -100 dBFS).
SILENCE_PEAK = 1e-5


def load(path: str, *, sample_rate: int, offset_s: float = 0.0,
         duration_s: float | None = None, mono: bool = True) -> np.ndarray:
  """Reads wav / flac / ogg / mp3 (any rate, any channels) as mono `[samples]` float32
  (the channels averaged), or with `mono=False` as `[channels, samples]`.

  Only the part from `offset_s` seconds, `duration_s` long (default: to the end), is
  read, resampled to `sample_rate` Hz.
  Raises `InputError` for a missing or unreadable file, or an offset past its end.
  """
  if not os.path.isfile(path):
    raise InputError(f"audio file not found: {path}")
  if not (math.isfinite(offset_s) and offset_s >= 0):
    raise InputError(f"the offset must be a non-negative number of seconds, got {offset_s}")
  if duration_s is not None and not duration_s > 0:
    raise InputError(f"the clip length must be positive, got {duration_s} s")
  try:
    info = sf.info(path)
    start = int(round(offset_s * info.samplerate))
    if start >= max(info.frames, 1):
      raise InputError(f"{path}: offset {offset_s} s is past its end "
                       f"({info.frames / info.samplerate:.2f} s)")
    frames = -1 if duration_s is None else int(round(duration_s * info.samplerate))
    y, rate = sf.read(path, start=start, frames=frames, dtype="float32", always_2d=True)
  except (sf.LibsndfileError, RuntimeError, TypeError) as e:
    raise InputError(f"cannot read audio file {path} (corrupt or unsupported format): "
                     f"{e}") from None
  y = y.mean(axis=1) if mono else y.T
  if rate != sample_rate and y.size:
    y = librosa.resample(y, orig_sr=rate, target_sr=sample_rate)
  return np.ascontiguousarray(y, dtype=np.float32)


def check(y: np.ndarray, *, name: str, n_fft: int) -> np.ndarray:
  """Returns `y` if it is usable audio; raises `InputError` naming `name` otherwise.

  Rejects NaN / inf samples, clips shorter than one frame (`n_fft` samples) and
  silent clips (peak below `SILENCE_PEAK`).
  """
  if not np.all(np.isfinite(y)):
    raise InputError(f"{name}: audio contains NaN or infinite samples")
  if y.shape[-1] < n_fft:
    raise InputError(f"{name}: audio is too short: {y.shape[-1]} samples, "
                     f"less than one frame (n_fft={n_fft})")
  if np.max(np.abs(y)) < SILENCE_PEAK:
    raise InputError(f"{name}: audio is silent (peak below {SILENCE_PEAK:g})")
  return y


