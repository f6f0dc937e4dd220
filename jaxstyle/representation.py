"""The time-frequency representation of a synthesis (`Representation`), both ways.

- `stft`: `log1p |STFT|` scaled to about [0, 1] (`spectral.spectrogram`); back with
  fast Griffin-Lim (from single-pass spectrogram inversion phases by default).
- `cqt_map`: the STFT magnitude through the log-frequency map of `jaxstyle.cqt` (as
  Huzaifah & Wyse, after Ellis), then `log1p` and scaling; back through the map's
  pseudo-inverse to the STFT magnitude, then Griffin-Lim. Mildly lossy.
- `cqt`: librosa's constant-Q transform (as Milacic: `hop_length` 128, 512 bins, 64
  per octave), `log1p` and scaling; back with `librosa.griffinlim_cqt` (numpy: the one
  representation that cannot be traced).

Spectrograms are `[time, bins]` network-scale arrays, `time = 1 + samples // hop`.
A ring (a seamless loop, `circular=True`) has `time = samples // hop` frames
(`spectral.stft(..., circular=True)`), and its waveform is rebuilt as a seamless loop.
`analyze_jax` and `inverse_jax` are pure JAX (safe under `jit`, `vmap` and `grad`) for
`stft` and `cqt_map`.
"""

from collections.abc import Iterable, Mapping
import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxstyle import cqt
from jaxstyle import phase
from jaxstyle import spectral
from jaxstyle.errors import InputError

SPECTROGRAMS = ("stft", "cqt_map", "cqt")


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class Representation:
  """A time-frequency representation; its fields are the config keys of the same names
  (`kind` is `spectrogram`). Frozen and hashable: a static argument under `jit`.

  Attributes:
    kind: `stft`, `cqt_map` or `cqt` (see the module docstring).
    sample_rate: Hz.
    n_fft, hop_length: the STFT (`cqt` uses `hop_length` only).
    log_max: `log1p` magnitudes in `[0, log_max]` map to `[0, 1]`.
    cqt_bins, cqt_bins_per_octave: the log-frequency bins of `cqt_map` and `cqt`.
  """

  kind: str = "stft"
  sample_rate: int = 22050
  n_fft: int = 1024
  hop_length: int = 256
  log_max: float = spectral.LOG_MAX
  cqt_bins: int = 512
  cqt_bins_per_octave: int = 64

  def __post_init__(self):
    if self.kind not in SPECTROGRAMS:
      raise InputError(f"config.spectrogram must be one of {SPECTROGRAMS}, got {self.kind!r}")
    for key in ("sample_rate", "n_fft", "hop_length", "log_max", "cqt_bins",
                "cqt_bins_per_octave"):
      if not getattr(self, key) > 0:
        raise InputError(f"config.{key} must be positive, got {getattr(self, key)!r}")
    if self.hop_length > self.n_fft:
      raise InputError(f"config.hop_length ({self.hop_length}) must not exceed n_fft "
                       f"({self.n_fft})")

  @property
  def n_bins(self) -> int:
    """The bins of its spectrograms: `n_fft // 2 + 1` for `stft`, else `cqt_bins`."""
    return self.n_fft // 2 + 1 if self.kind == "stft" else self.cqt_bins

  def n_frames(self, n_samples: int, *, circular: bool = False) -> int:
    """Frames of `n_samples` samples (`spectral.num_frames`)."""
    return spectral.num_frames(n_samples, hop_length=self.hop_length, n_fft=self.n_fft,
                               circular=circular)


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


def _fmap(r: Representation, *, inverse: bool = False) -> np.ndarray:
  return _maps(r.sample_rate, r.n_fft, r.cqt_bins_per_octave, r.cqt_bins)[int(inverse)]


def bin_frequencies_hz(r: Representation) -> np.ndarray:
  """Centre frequency in Hz of each bin `[bins]` of `r`'s spectrograms."""
  if r.kind == "stft":
    return np.fft.rfftfreq(r.n_fft, 1.0 / r.sample_rate)
  if r.kind == "cqt_map":
    return cqt.log_frequency_centres_hz(sample_rate=r.sample_rate, n_fft=r.n_fft,
                                        bins_per_octave=r.cqt_bins_per_octave, n_bins=r.cqt_bins)
  return cqt.cqt_frequencies_hz(n_bins=r.cqt_bins, bins_per_octave=r.cqt_bins_per_octave)


def analyze_jax(y: jnp.ndarray, r: Representation, *, circular: bool = False) -> jnp.ndarray:
  """Waveform `[..., samples]` -> network-scale spectrogram `[..., time, bins]`, in JAX
  (`stft` and `cqt_map`; `cqt` is librosa's: `analyze`)."""
  if r.kind == "cqt":
    raise InputError("spectrogram=cqt is librosa's constant-Q transform, which JAX cannot "
                     "trace: analyse it on the host (representation.analyze)")
  mag = spectral.magnitude(spectral.stft(y, n_fft=r.n_fft, hop_length=r.hop_length,
                                         circular=circular))
  if r.kind == "cqt_map":
    mag = cqt.to_log_frequency(mag, _fmap(r))
  return spectral.compress(mag, log_max=r.log_max)


def analyze(y: np.ndarray, r: Representation) -> np.ndarray:
  """Waveform `[samples]` -> network-scale spectrogram `[time, bins]` (numpy)."""
  if r.kind == "cqt":
    mag = cqt.cqt_magnitude(y, sample_rate=r.sample_rate, hop_length=r.hop_length,
                            n_bins=r.cqt_bins, bins_per_octave=r.cqt_bins_per_octave)
    return np.asarray(spectral.compress(mag, log_max=r.log_max))
  return np.asarray(analyze_jax(jnp.asarray(y), r))


def analyze_all(inputs: Mapping[str, np.ndarray],
                representations: Iterable[Representation]) -> dict[Representation, dict]:
  """`{representation: {path: spectrogram [time, bins]}}` of the waveforms `inputs`
  under each of `representations` (each distinct one once)."""
  return {r: {p: analyze(y, r) for p, y in inputs.items()} for r in dict.fromkeys(representations)}


def stft_magnitude(spec: jnp.ndarray, r: Representation) -> jnp.ndarray:
  """The linear STFT magnitude `[time, n_fft // 2 + 1]` a network-scale `stft` or
  `cqt_map` spectrogram `[time, bins]` stands for (through the map's pseudo-inverse for
  `cqt_map`); JAX."""
  mag = jnp.maximum(spectral.decompress(spec, log_max=r.log_max), 0.0)
  return cqt.from_log_frequency(mag, _fmap(r, inverse=True)) if r.kind == "cqt_map" else mag


def convergence(mag: jnp.ndarray, audio: jnp.ndarray, r: Representation, *,
                circular: bool = False) -> jnp.ndarray:
  """Spectral convergence `||abs(STFT(audio)) - mag||_F / ||mag||_F` over their common
  frames (on the ring if `circular`); JAX, a scalar."""
  rebuilt = spectral.magnitude(spectral.stft(audio, n_fft=r.n_fft, hop_length=r.hop_length,
                                             circular=circular))
  t = min(rebuilt.shape[0], mag.shape[0])
  return jnp.linalg.norm(rebuilt[:t] - mag[:t]) / jnp.maximum(jnp.linalg.norm(mag[:t]), 1e-30)


def inverse_jax(spec: jnp.ndarray, r: Representation, g: phase.GriffinLim, key: jax.Array, *,
                length: int, circular: bool = False,
                known: jnp.ndarray | None = None) -> tuple[jnp.ndarray, jnp.ndarray]:
  """Network-scale `[time, bins]` -> (waveform `[length]`, spectral convergence), in JAX:
  fast Griffin-Lim (`g`) of the STFT magnitude (`stft`, `cqt_map`). A ring's `length`
  is `hop_length * time`. `known`: complex STFT frames held (`phase.griffin_lim`)."""
  mag = stft_magnitude(spec, r)
  audio = phase.griffin_lim(mag, key, n_fft=r.n_fft, hop_length=r.hop_length,
                            n_iter=g.iterations, momentum=g.momentum, length=length, init=g.init,
                            circular=circular, known=known)
  if known is not None:
    mag = mag.at[:len(known)].set(jnp.abs(known))
  return audio, convergence(mag, audio, r, circular=circular)


def resynthesize(spec: np.ndarray, r: Representation, g: phase.GriffinLim, *, length: int,
                 seed: int, circular: bool = False) -> tuple[np.ndarray, float]:
  """Network-scale `[time, bins]` -> (waveform `[length]`, spectral convergence).

  A ring's (`circular`) `length` must be `hop_length * time`. The spectral convergence
  is measured in the domain that was inverted: the STFT magnitude for `stft` and
  `cqt_map`, the CQT magnitude for `cqt` (librosa's `griffinlim_cqt`, on the host).
  """
  if circular and length != r.hop_length * len(spec):
    raise ValueError(f"a loop of {len(spec)} frames is {r.hop_length * len(spec)} samples, "
                     f"not {length}")
  if r.kind == "cqt":
    mag = np.maximum(np.asarray(spectral.decompress(spec, log_max=r.log_max)), 0.0)
    kw = dict(sample_rate=r.sample_rate, hop_length=r.hop_length, n_bins=r.cqt_bins,
              bins_per_octave=r.cqt_bins_per_octave)
    audio = cqt.cqt_inverse(mag, n_iter=max(g.iterations, 1), length=length, seed=seed, **kw)
    rebuilt = cqt.cqt_magnitude(audio, **kw)
    t = min(len(rebuilt), len(mag))
    return audio, float(np.linalg.norm(rebuilt[:t] - mag[:t]) / np.linalg.norm(mag[:t]))
  audio, conv = _inverse(jnp.asarray(spec), r, g, jax.random.key(seed), length, circular)
  return np.asarray(audio), float(conv)


@functools.partial(jax.jit, static_argnums=(1, 2, 4, 5))
def _inverse(spec, r, g, key, length, circular):
  return inverse_jax(spec, r, g, key, length=length, circular=circular)
