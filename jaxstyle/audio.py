"""Audio files in and out, and the checks that make bad audio fail early and clearly.

Waveforms are float32 numpy arrays, mono `[samples]` or `[channels, samples]`. Every file is written
atomically (to a temporary file beside it, then renamed), so a crash or an error
never leaves a half-written file behind.
"""

from collections.abc import Callable, Iterator
import contextlib
import dataclasses
import math
import os
import tempfile

import librosa
import numpy as np
import soundfile as sf
import soxr

from jaxstyle.errors import InputError

# Peak amplitude under which a clip counts as silent (about -100 dBFS).
SILENCE_PEAK = 1e-5


# Output containers (the file extension) and sample formats; ogg is always Vorbis.
CONTAINERS = ("wav", "flac", "ogg")
SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")


@dataclasses.dataclass(frozen=True)
class Output:
  """How an output file is written: its container, sample format and rate (Hz; 0: the
  synthesis rate, else resampled with librosa as inputs are). Raises `InputError` for a
  combination the container cannot hold."""

  container: str = "wav"
  subtype: str = "PCM_16"
  rate: int = 0

  def __post_init__(self):
    if self.container not in CONTAINERS:
      raise InputError(f"output format must be one of {CONTAINERS}, got {self.container!r}")
    if self.subtype not in SUBTYPES:
      raise InputError(f"output subtype must be one of {SUBTYPES}, got {self.subtype!r}")
    if self.container == "flac" and self.subtype == "FLOAT":
      raise InputError("flac holds integer samples: use subtype PCM_16 or PCM_24, or wav for FLOAT")
    if self.container == "ogg" and self.subtype != "PCM_16":
      raise InputError(f"ogg is Vorbis (lossy), it has no subtype {self.subtype}: leave the "
                       "subtype at its default")
    if self.rate and not 1000 <= self.rate <= 384000:
      raise InputError(f"output rate must be 0 (the synthesis rate) or 1000-384000 Hz, "
                       f"got {self.rate}")


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


WAV = Output()  # 16-bit PCM WAV at the synthesis rate: the default


def save(path: str, y: np.ndarray, *, sample_rate: int, output: Output = WAV) -> None:
  """Writes `[samples]` or `[channels, samples]` at `sample_rate` Hz as `output` says,
  atomically; peaks above 1 are scaled. `path` ends in `.` + `output.container`."""
  if not path.endswith("." + output.container):
    raise ValueError(f"{path} does not end in .{output.container}")
  y = np.asarray(y, np.float32)
  if output.rate and output.rate != sample_rate:
    y = librosa.resample(y, orig_sr=sample_rate, target_sr=output.rate)
    sample_rate = output.rate
  peak = float(np.max(np.abs(y))) if y.size else 0.0
  if peak > 1.0:
    y = y / peak
  with atomic_path(path) as tmp:
    sf.write(tmp, y.T, sample_rate, format=output.container.upper(),
             subtype="VORBIS" if output.container == "ogg" else output.subtype)


@contextlib.contextmanager
def stream(path: str, *, sample_rate: int, output: Output = WAV,
           block: int = 2**16) -> Iterator[Callable[[np.ndarray], None]]:
  """Yields `write(y)`, which appends mono `[samples]`; on a clean exit the whole is
  written to `path` as `save` writes it (peaks above 1 scaled, resampled to
  `output.rate` with soxr, the resampler librosa uses for inputs), atomically.

  Memory stays that of `block` samples: the samples go to a float RF64 file (a WAV
  without the 4 GiB limit) beside `path`, which a second pass converts, `block` at a
  time, and removes.
  """
  if not path.endswith("." + output.container):
    raise ValueError(f"{path} does not end in .{output.container}")
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, raw = tempfile.mkstemp(prefix=".", suffix=".tmp.wav", dir=directory)
  os.close(fd)
  try:
    peak = 0.0
    with sf.SoundFile(raw, "w", sample_rate, 1, format="RF64", subtype="FLOAT") as f:

      def write(y: np.ndarray) -> None:
        nonlocal peak
        y = np.asarray(y, np.float32)
        peak = max(peak, float(np.max(np.abs(y), initial=0.0)))
        f.write(y)

      yield write
    rate = output.rate or sample_rate
    resampler = soxr.ResampleStream(sample_rate, rate, 1, dtype="float32", quality="HQ")
    with atomic_path(path) as tmp:
      with sf.SoundFile(raw) as f, sf.SoundFile(
          tmp, "w", rate, 1, format=output.container.upper(),
          subtype="VORBIS" if output.container == "ogg" else output.subtype) as out:
        last = False
        while not last:
          y = f.read(block, dtype="float32")
          last = len(y) < block
          if rate != sample_rate:
            y = resampler.resample_chunk(y, last=last)
          out.write(y / max(peak, 1.0))
  finally:
    os.remove(raw)
