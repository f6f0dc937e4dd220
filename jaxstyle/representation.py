"""The time-frequency representation a config chooses (`spectrogram`), both ways.

- `stft`: `log1p |STFT|` scaled to about [0, 1] (`spectral.spectrogram`); back with
  fast Griffin-Lim (from single-pass spectrogram inversion phases by default).
- `cqt_map`: the STFT magnitude through the log-frequency map of `jaxstyle.cqt` (as
  Huzaifah & Wyse, after Ellis), then `log1p` and scaling; back through the map's
  pseudo-inverse to the STFT magnitude, then Griffin-Lim. Mildly lossy.
- `cqt`: librosa's constant-Q transform (as Milacic: `hop_length` 128, 512 bins, 64
  per octave), `log1p` and scaling; back with `librosa.griffinlim_cqt`.

Spectrograms are `[time, bins]` network-scale numpy arrays, `time = 1 + samples // hop`.
An output of a `loop` config is a ring (`spectral.stft(..., circular=True)`): `time =
samples // hop`, and its waveform is rebuilt as a seamless loop.
"""

from collections.abc import Mapping
import functools

import jax
import ml_collections
import numpy as np

from jaxstyle import cqt
from jaxstyle import phase
from jaxstyle import spectral

SPECTROGRAMS = ("stft", "cqt_map", "cqt")
# The config keys that define a representation: configs equal in them analyse alike.
KEYS = ("spectrogram", "sample_rate", "n_fft", "hop_length", "log_max", "cqt_bins",
        "cqt_bins_per_octave")


def key(c: ml_collections.ConfigDict) -> tuple:
  """The values of `KEYS` in config `c`: equal keys, equal spectrograms."""
  return tuple(c[k] for k in KEYS)


@functools.cache
def _maps(sample_rate: int, n_fft: int, bins_per_octave: int,
          n_bins: int) -> tuple[np.ndarray, np.ndarray]:
  """The `cqt_map` matrix `[n_fft // 2 + 1, bins]` and its pseudo-inverse, built once per
  set of arguments (read-only)."""
  fmap = np.asarray(cqt.log_frequency_map(sample_rate=sample_rate, n_fft=n_fft,
                                          bins_per_octave=bins_per_octave, n_bins=n_bins))
  inverse = np.asarray(cqt.log_frequency_inverse(fmap))
  for m in (fmap, inverse):
    m.flags.writeable = False
  return fmap, inverse


def _fmap(c: ml_collections.ConfigDict, *, inverse: bool = False) -> np.ndarray:
  return _maps(c.sample_rate, c.n_fft, c.cqt_bins_per_octave, c.cqt_bins)[int(inverse)]


def bin_frequencies_hz(c: ml_collections.ConfigDict) -> np.ndarray:
  """Centre frequency in Hz of each bin `[bins]` of config `c`'s spectrograms."""
  if c.spectrogram == "stft":
    return np.fft.rfftfreq(c.n_fft, 1.0 / c.sample_rate)
  if c.spectrogram == "cqt_map":
    return cqt.log_frequency_centres_hz(sample_rate=c.sample_rate, n_fft=c.n_fft,
                                        bins_per_octave=c.cqt_bins_per_octave, n_bins=c.cqt_bins)
  return cqt.cqt_frequencies_hz(n_bins=c.cqt_bins, bins_per_octave=c.cqt_bins_per_octave)


def analyze(y: np.ndarray, c: ml_collections.ConfigDict) -> np.ndarray:
  """Waveform `[samples]` -> network-scale spectrogram `[time, bins]`."""
  if c.spectrogram == "cqt":
    mag = cqt.cqt_magnitude(y, sample_rate=c.sample_rate, hop_length=c.hop_length,
                            n_bins=c.cqt_bins, bins_per_octave=c.cqt_bins_per_octave)
    return np.asarray(spectral.compress(mag, log_max=c.log_max))
  mag = spectral.magnitude(spectral.stft(y, n_fft=c.n_fft, hop_length=c.hop_length))
  if c.spectrogram == "cqt_map":
    mag = cqt.to_log_frequency(mag, _fmap(c))
  return np.asarray(spectral.compress(mag, log_max=c.log_max))


def analyze_all(inputs: Mapping[str, np.ndarray], configs) -> dict[tuple, dict]:
  """`{key: {path: spectrogram [time, bins]}}` of the waveforms `inputs`
  under each representation of `configs`."""
  out = {}
  for c in configs:
    k = key(c)
    if k not in out:
      out[k] = {p: analyze(y, c) for p, y in inputs.items()}
  return out


def render(result, c: ml_collections.ConfigDict, *, length: int,
           seed: int) -> tuple[np.ndarray, float]:
  """The audio `[length]` of a `synthesis.Result` and its spectral convergence.

  A waveform-domain result is its own audio (cut or zero-padded to `length`; its
  spectrogram is that waveform's, so the convergence only measures the padding);
  a spectrogram needs a phase (`resynthesize`).
  """
  if result.waveform is None:
    return resynthesize(result.spectrogram, c, length=length, seed=seed)
  audio = np.zeros(length, np.float32)
  audio[:min(length, result.waveform.size)] = result.waveform[:length]
  mag = np.asarray(spectral.decompress(result.spectrogram, log_max=c.log_max))
  return audio, _convergence(mag, audio, c)


def _convergence(mag: np.ndarray, audio: np.ndarray, c: ml_collections.ConfigDict) -> float:
  """`||abs(STFT(audio)) - mag||_F / ||mag||_F` over their common frames, on the ring
  for a loop."""
  rebuilt = np.abs(np.asarray(spectral.stft(audio, n_fft=c.n_fft, hop_length=c.hop_length,
                                            circular=c.loop), np.complex128))
  t = min(len(rebuilt), len(mag))
  return float(np.linalg.norm(rebuilt[:t] - mag[:t]) / max(np.linalg.norm(mag[:t]), 1e-30))


def resynthesize(spec: np.ndarray, c: ml_collections.ConfigDict, *, length: int,
                 seed: int) -> tuple[np.ndarray, float]:
  """Network-scale `[time, bins]` -> (waveform `[length]`, spectral convergence).

  A loop's `length` must be its ring's, `hop_length * time`.

  The spectral convergence is measured in the domain that was inverted: the STFT
  magnitude for `stft` and `cqt_map`, the CQT magnitude for `cqt`.
  """
  mag = np.maximum(np.asarray(spectral.decompress(spec, log_max=c.log_max)), 0.0)
  if c.loop and length != c.hop_length * len(spec):
    raise ValueError(f"a loop of {len(spec)} frames is {c.hop_length * len(spec)} samples, "
                     f"not {length}")
  if c.spectrogram == "cqt":
    kw = dict(sample_rate=c.sample_rate, hop_length=c.hop_length, n_bins=c.cqt_bins,
              bins_per_octave=c.cqt_bins_per_octave)
    audio = cqt.cqt_inverse(mag, n_iter=max(c.phase_iterations, 1), length=length, seed=seed,
                            **kw)
    rebuilt = cqt.cqt_magnitude(audio, **kw)
    t = min(len(rebuilt), len(mag))
    return audio, float(np.linalg.norm(rebuilt[:t] - mag[:t]) / np.linalg.norm(mag[:t]))
  if c.spectrogram == "cqt_map":
    mag = np.asarray(cqt.from_log_frequency(mag, _fmap(c, inverse=True)))
  audio = np.asarray(phase.griffin_lim(
      mag, jax.random.key(seed), n_fft=c.n_fft, hop_length=c.hop_length,
      n_iter=c.phase_iterations, momentum=c.phase_momentum, length=length, init=c.phase_init,
      circular=c.loop))
  return audio, _convergence(mag, audio, c)
