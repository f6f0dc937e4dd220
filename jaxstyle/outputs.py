"""The one module that writes files; every file is written atomically.

Each write goes to a temporary file beside its target, renamed over it on success,
so a crash or an error never leaves a half-written file behind; `together` renames
a group (e.g. a synthesis's audio, figure and record) with the JSON last, so a
record present means its files are complete, and `finished` is the resume check
that relies on it. The modules that decide what to write (`pipeline`, `sweep`,
`experiments`, `evaluation`, `train`) build records, reports and figures and hand
them here.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
import contextlib
import csv
import dataclasses
import json
import os
import tempfile
from typing import Any

from absl import logging
import librosa
import numpy as np
import soundfile as sf
import soxr

from jaxstyle.errors import InputError

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


def check_directory(path: str, *, flag: str = "--output_dir") -> None:
  """Refuses, before any work, a directory that files cannot be written into: an
  existing file, a directory without write permission, or a missing one whose nearest
  existing parent is a file or not writable (so it cannot be made).

  Raises:
    InputError: naming `flag` and what is in the way.
  """
  where = os.path.abspath(path or ".")
  parent = where
  while not os.path.lexists(parent):
    parent = os.path.dirname(parent)
  if os.path.isfile(parent) or not os.path.isdir(parent):
    raise InputError(f"{flag}={path}: {parent} is a file, not a directory"
                     + ("" if parent == where else f", so {where} cannot be made"))
  if not os.access(parent, os.W_OK | os.X_OK):
    raise InputError(f"{flag}={path}: no permission to write in {parent}"
                     + ("" if parent == where else f", so {where} cannot be made"))


def check_file(path: str, *, flag: str) -> None:
  """`check_directory` for a file's directory; also refuses a `path` that is a directory."""
  if os.path.isdir(path):
    raise InputError(f"{flag}={path} is a directory; give a file name")
  check_directory(os.path.dirname(os.path.abspath(path)), flag=flag)


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


def audio(path: str, y: np.ndarray, *, sample_rate: int, output: Output = WAV) -> None:
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
def audio_stream(path: str, *, sample_rate: int, output: Output = WAV,
           block: int = 2**16) -> Iterator[Callable[[np.ndarray], None]]:
  """Yields `write(y)`, which appends mono `[samples]`; on a clean exit the whole is
  written to `path` as `audio` writes it (peaks above 1 scaled, resampled to
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


def json_file(path: str, data: Any) -> None:
  """Writes `data` as indented JSON to `path`."""
  with atomic_path(path) as tmp, open(tmp, "w") as f:
    json.dump(data, f, indent=1)


def bytes_file(path: str, data: bytes) -> None:
  """Writes `data` to `path`."""
  with atomic_path(path) as tmp, open(tmp, "wb") as f:
    f.write(data)


def text_file(path: str, text: str) -> None:
  """Writes `text` to `path`."""
  with atomic_path(path) as tmp, open(tmp, "w") as f:
    f.write(text)


def csv_file(path: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
  """Writes `rows` (dicts; missing columns left empty) as CSV with a header to `path`."""
  with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
    writer = csv.DictWriter(f, list(columns))
    writer.writeheader()
    writer.writerows(rows)


def figure(path: str, fig: Any) -> None:
  """Writes a matplotlib `Figure` to `path` at its own dpi (the format from the extension)."""
  with atomic_path(path) as tmp:
    fig.savefig(tmp, format=os.path.splitext(path)[1][1:])


@contextlib.contextmanager
def together(paths: Mapping[str, str]) -> Iterator[dict[str, str]]:
  """Yields `{key: temporary path}` for `{key: path}`; on success renames all, the
  `json` one (if any) last, so a JSON present means the others are complete."""
  order = sorted(paths, key=lambda k: k != "json")  # entered first, renamed last
  with contextlib.ExitStack() as stack:
    yield {k: stack.enter_context(atomic_path(paths[k])) for k in order}


def finished(json_path: str, expected: Mapping[str, Any],
             required: Sequence[str] = ("final_losses", "quality", "seconds"),
             audio_ext: str = "wav") -> dict | None:
  """The record at `json_path` if it is complete and was made as `expected` says: the
  resume check of sweeps and experiments.

  Complete: readable JSON holding the `required` keys, with its audio file (same stem,
  `audio_ext`) beside it. As expected: each entry of `expected` equals the record's,
  compared as JSON; a dict entry matches a dict that holds at least its items.
  Otherwise None (a present but unusable record is logged).
  """
  audio_path = os.path.splitext(json_path)[0] + "." + audio_ext
  if not (os.path.isfile(json_path) and os.path.isfile(audio_path)):
    return None
  try:
    with open(json_path) as f:
      record = json.load(f)
  except (OSError, ValueError):
    logging.warning("ignoring %s: not valid JSON", json_path)
    return None

  def matches(have: Any, want: Any) -> bool:
    if isinstance(want, dict) and isinstance(have, dict):
      return all(k in have and have[k] == v for k, v in want.items())
    return have == want

  if not isinstance(record, dict) or not set(required) <= record.keys() or not all(
      matches(record.get(k), v) for k, v in json.loads(json.dumps(expected)).items()):
    logging.warning("ignoring %s: incomplete, or made with other settings or inputs", json_path)
    return None
  return record
