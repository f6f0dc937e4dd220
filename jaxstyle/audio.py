"""Audio files in and out, and the checks that make bad audio fail early and clearly.

Waveforms are mono float32 numpy arrays `[samples]`. Every file is written
atomically (to a temporary file beside it, then renamed), so a crash or an error
never leaves a half-written file behind.
"""

from collections.abc import Iterator
import contextlib
import os
import tempfile

import librosa
import numpy as np
import soundfile as sf

from jaxstyle.errors import InputError

# Peak amplitude under which a clip counts as silent (about -100 dBFS).
SILENCE_PEAK = 1e-5


def load(path: str, *, sample_rate: int) -> np.ndarray:
  """Reads wav / flac / ogg / mp3 (any rate, any channels) as mono `[samples]` float32.

  Channels are averaged and the signal is resampled to `sample_rate` Hz.
  Raises `InputError` for a missing or unreadable file.
  """
  if not os.path.isfile(path):
    raise InputError(f"audio file not found: {path}")
  try:
    y, rate = sf.read(path, dtype="float32", always_2d=True)
  except (sf.LibsndfileError, RuntimeError, TypeError) as e:
    raise InputError(f"cannot read audio file {path} (corrupt or unsupported format): "
                     f"{e}") from None
  y = y.mean(axis=1)
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


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
  """Yields a temporary path beside `path`; renames it to `path` if the block succeeds.

  The temporary name keeps `path`'s extension, so format-sniffing writers work.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  stem, ext = os.path.splitext(os.path.basename(path))
  fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".tmp{ext}", dir=directory)
  os.close(fd)
  umask = os.umask(0)
  os.umask(umask)
  os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
  try:
    yield tmp
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def save_wav(path: str, y: np.ndarray, *, sample_rate: int) -> None:
  """Writes mono `[samples]` as 16-bit PCM WAV, atomically; peaks above 1 are scaled."""
  y = np.asarray(y, np.float32)
  peak = float(np.max(np.abs(y))) if y.size else 0.0
  if peak > 1.0:
    y = y / peak
  with atomic_path(path) as tmp:
    sf.write(tmp, y, sample_rate, subtype="PCM_16", format="WAV")
