"""Constant-Q front-ends: a log-frequency map of the STFT (JAX) and librosa's CQT (numpy).

Two ways to get a spectrogram with log-spaced frequency bins, one per paper:

1. Huzaifah & Wyse (2019) map the linear STFT magnitude to log-spaced bins with a fixed
   matrix, after Dan Ellis' `logfmap` / `fft2logfmx`, and map back with an approximate
   inverse. `log_frequency_map` builds the matrix in numpy (once, at trace time);
   `to_log_frequency` and `from_log_frequency` apply it in pure JAX and are safe under
   `jit`, `vmap` and `grad`. Time frames are those of the STFT: `1 + samples // hop_length`
   with `center=True` (see `spectral.num_frames`).
2. Milacic (2020) uses a true constant-Q transform, `librosa.cqt` (hop 128, 512 bins,
   64 bins per octave), inverted with `librosa.griffinlim_cqt`. `cqt_magnitude` and
   `cqt_inverse` wrap them. They are numpy/librosa functions, not JAX: they run on the
   host and cannot be traced, `jit`-ed or differentiated.

Shapes are time-major as in `spectral`: a waveform is `[..., samples]`, a linear
spectrogram `[..., time, freq]` (`freq = n_fft // 2 + 1`), a log-frequency or CQT
spectrogram `[..., time, n_bins]`. librosa returns `[..., n_bins, time]`; the wrappers
here transpose.

Round trip of the log-frequency map (defaults at 22050 Hz, n_fft 1024: 512 bins from
43.07 Hz, 64 per octave; hop 256), relative Frobenius error of
`from_log_frequency(to_log_frequency(mag))` against `mag`, measured with both inverses:

| sound                                        | pseudo-inverse | Ellis' normalised transpose |
|----------------------------------------------|----------------|-----------------------------|
| harmonic tones + low-passed noise bursts     | 0.030          | 0.168                       |
| `examples.tones()`                           | 0.016          | 0.131                       |
| `examples.birds_and_rain()`                  | 0.057          | 0.081                       |
| white noise                                  | 0.289          | 0.312                       |

`log_frequency_inverse` is therefore the pseudo-inverse. Ellis' inverse divides the
transposed map by its row sums: each STFT bin becomes a weighted mean of the log bins
that read it. Plain linear interpolation between STFT bins at every frequency (no band
averaging above 2 kHz, see `log_frequency_map`) would give 0.052 and 0.628 on the first
and last rows.

The map has rank 249 (of 512 columns): below about 2 kHz many log bins interpolate the
same few STFT bins, and above it each log bin averages several STFT bins, whose fine
detail (e.g. the bin-to-bin fluctuation of noise) is lost. The energy at or below
`fmin_hz - sample_rate / n_fft` (DC and the first STFT bin, by default) is not
mapped at all.
"""

import jax
import jax.numpy as jnp
import librosa
import numpy as np

from jaxstyle.errors import InputError

# 64 bins per octave, as Milacic's CQT; the log-frequency map uses the same.
BINS_PER_OCTAVE = 64
# librosa CQT defaults, after Milacic (2020), at 22050 Hz.
CQT_SAMPLE_RATE_HZ = 22050
CQT_HOP_LENGTH = 128
CQT_N_BINS = 512


def log_frequency_centres_hz(
    *,
    sample_rate: float,
    n_fft: int,
    bins_per_octave: int = BINS_PER_OCTAVE,
    n_bins: int | None = None,
    fmin_hz: float | None = None,
) -> np.ndarray:
  """Centre frequencies `[n_bins]` of the log-frequency map's bins, in Hz.

  `fmin_hz * 2 ** (k / bins_per_octave)` for `k = 0 .. n_bins - 1`, which is
  `librosa.cqt_frequencies(n_bins, fmin=fmin_hz, bins_per_octave=bins_per_octave)`.

  Args:
    sample_rate: sample rate of the audio.
    n_fft: FFT size of the STFT the map applies to.
    bins_per_octave: log bins per octave.
    n_bins: number of log bins; by default as many as have their centre below the
      Nyquist frequency `sample_rate / 2`.
    fmin_hz: centre of the lowest bin; by default two STFT bins,
      `2 * sample_rate / n_fft` (43.07 Hz at 22050 Hz and n_fft 1024, where the
      default `n_bins` is 512, reaching 10906 Hz).

  Raises:
    InputError: for non-positive sizes or rates, or a top centre above Nyquist.
  """
  if sample_rate <= 0 or n_fft <= 0 or bins_per_octave <= 0:
    raise InputError(f"sample_rate={sample_rate}, n_fft={n_fft} and "
                     f"bins_per_octave={bins_per_octave} must be positive")
  nyquist_hz = sample_rate / 2
  if fmin_hz is None:
    fmin_hz = 2 * sample_rate / n_fft
  if not 0 < fmin_hz < nyquist_hz:
    raise InputError(f"fmin_hz={fmin_hz} must be in (0, {nyquist_hz}) Hz")
  if n_bins is None:
    # Largest count whose top centre is strictly below Nyquist (robust to rounding when
    # Nyquist is an exact number of octaves above fmin_hz).
    n_bins = int(np.floor(bins_per_octave * np.log2(nyquist_hz / fmin_hz) - 1e-9)) + 1
  if n_bins <= 0:
    raise InputError(f"n_bins must be positive, got {n_bins}")
  centres_hz = fmin_hz * 2.0 ** (np.arange(n_bins) / bins_per_octave)
  if centres_hz[-1] > nyquist_hz:
    raise InputError(f"{n_bins} bins from {fmin_hz:.2f} Hz at {bins_per_octave} per octave "
                     f"reach {centres_hz[-1]:.1f} Hz, above Nyquist {nyquist_hz} Hz")
  return centres_hz


def log_frequency_map(
    *,
    sample_rate: float,
    n_fft: int,
    bins_per_octave: int = BINS_PER_OCTAVE,
    n_bins: int | None = None,
    fmin_hz: float | None = None,
) -> np.ndarray:
  """Matrix `[freq, n_bins]` mapping a linear STFT magnitude to log-spaced bins.

  Column `k` is a triangle in linear frequency with its apex at the centre
  `c_k = log_frequency_centres_hz(...)[k]`, falling to zero at `c_k - lower_k` and
  `c_k + upper_k`, sampled at the STFT bin frequencies `f * sample_rate / n_fft` and
  normalised to unit sum. The half-widths are the distances to the neighbouring centres
  (`c_{k-1} = c_k / r`, `c_{k+1} = c_k * r`, `r = 2 ** (1 / bins_per_octave)`, also at the
  two ends), but never less than one STFT bin `d = sample_rate / n_fft`:
  `lower_k = max(c_k (1 - 1 / r), d)`, `upper_k = max(c_k (r - 1), d)`. So:

  - at low frequencies, where log bins are denser than STFT bins (`c_k < d / (r - 1)`,
    1977 Hz by default), both half-widths are `d` and column `k` is exactly linear
    interpolation between the two STFT bins around `c_k` (the weights already sum to 1);
  - at high frequencies, where one log bin spans several STFT bins, column `k` is a
    triangular average over its band (like a mel filterbank), so that every STFT bin in
    the range contributes, instead of sampling two of them and skipping the rest.

  This is the triangular counterpart of Ellis' `fft2logfmx` (Gaussian profiles of width
  `max(log-bin bandwidth, FFT bin width)`), applied to magnitudes with unit-sum columns so
  that a flat magnitude spectrum keeps its level (and the `log1p` scaling its meaning).

  Args:
    sample_rate, n_fft, bins_per_octave, n_bins, fmin_hz: as for
      `log_frequency_centres_hz`, whose defaults give 512 bins from 43.07 Hz to 10906 Hz
      at 64 bins per octave for 22050 Hz and n_fft 1024.

  Returns:
    float32 `[n_fft // 2 + 1, n_bins]`, for `to_log_frequency`.
  """
  centres_hz = log_frequency_centres_hz(
      sample_rate=sample_rate, n_fft=n_fft, bins_per_octave=bins_per_octave,
      n_bins=n_bins, fmin_hz=fmin_hz)
  bin_width_hz = sample_rate / n_fft
  ratio = 2.0 ** (1.0 / bins_per_octave)
  lower_hz = np.maximum(centres_hz * (1 - 1 / ratio), bin_width_hz)
  upper_hz = np.maximum(centres_hz * (ratio - 1), bin_width_hz)
  offset_hz = bin_width_hz * np.arange(n_fft // 2 + 1)[:, None] - centres_hz[None, :]
  weights = np.maximum(0.0, 1.0 - np.where(offset_hz < 0, -offset_hz / lower_hz,
                                           offset_hz / upper_hz))
  return (weights / weights.sum(axis=0, keepdims=True)).astype(np.float32)


def log_frequency_inverse(fmap: np.ndarray, *, rcond: float = 1e-4) -> np.ndarray:
  """Moore-Penrose pseudo-inverse `[n_bins, freq]` of a map `[freq, n_bins]`.

  `to_log_frequency` then `from_log_frequency` with it projects each frame onto the
  span of the map's columns: the least-squares reconstruction (see the module docstring
  for the measured errors, and why not Ellis' normalised transpose).

  Args:
    fmap: `[freq, n_bins]` from `log_frequency_map`.
    rcond: singular values below `rcond` times the largest are treated as zero. The
      default map's 249 non-zero singular values span 5.1 to 0.093; the others are zero
      up to rounding and must not be inverted.

  Returns:
    float32 `[n_bins, freq]`.
  """
  return np.linalg.pinv(np.asarray(fmap, np.float64), rcond=rcond).astype(np.float32)


def to_log_frequency(mag: jnp.ndarray, fmap: jnp.ndarray) -> jnp.ndarray:
  """Linear STFT magnitude `[..., time, freq]` -> log-frequency `[..., time, n_bins]`.

  `mag @ fmap` at full float32 precision (accelerators would otherwise use reduced
  precision matmuls). Linear, so its gradient is `upstream @ fmap.T`.
  """
  return jnp.matmul(mag, fmap, precision=jax.lax.Precision.HIGHEST)


def from_log_frequency(logmag: jnp.ndarray, fmap_inv: jnp.ndarray) -> jnp.ndarray:
  """Log-frequency `[..., time, n_bins]` -> linear magnitude `[..., time, freq]`.

  `max(logmag @ fmap_inv, 0)`: the approximate inverse of `to_log_frequency`, with
  negative values (which a magnitude cannot have) clipped to zero.
  """
  return jnp.maximum(jnp.matmul(logmag, fmap_inv, precision=jax.lax.Precision.HIGHEST), 0.0)


def round_trip_error(mag: jnp.ndarray, fmap: jnp.ndarray, fmap_inv: jnp.ndarray) -> float:
  """`||from(to(mag)) - mag||_F / ||mag||_F` for a magnitude `[..., time, freq]`.

  A host-side diagnostic (it returns a Python float, so it cannot be traced).

  About 0.03 for harmonic sounds with low-passed noise and 0.29 for white noise with the
  default map and its pseudo-inverse (module docstring).
  """
  error = from_log_frequency(to_log_frequency(mag, fmap), fmap_inv) - mag
  return float(jnp.linalg.norm(error.ravel()) / jnp.linalg.norm(jnp.ravel(mag)))


def _cqt_fmin_hz(fmin_hz: float | None) -> float:
  return librosa.note_to_hz("C1") if fmin_hz is None else fmin_hz


def cqt_frequencies_hz(*, n_bins: int = CQT_N_BINS, bins_per_octave: int = BINS_PER_OCTAVE,
                       fmin_hz: float | None = None) -> np.ndarray:
  """Centre frequencies `[n_bins]` in Hz of `cqt_magnitude`'s bins (same arguments)."""
  return librosa.cqt_frequencies(n_bins, fmin=_cqt_fmin_hz(fmin_hz),
                                 bins_per_octave=bins_per_octave)


def cqt_magnitude(
    y: np.ndarray,
    *,
    sample_rate: float = CQT_SAMPLE_RATE_HZ,
    hop_length: int = CQT_HOP_LENGTH,
    n_bins: int = CQT_N_BINS,
    bins_per_octave: int = BINS_PER_OCTAVE,
    fmin_hz: float | None = None,
) -> np.ndarray:
  """Constant-Q magnitude `|librosa.cqt(y)|`, time-major (numpy/librosa, not JAX).

  The defaults are Milacic's: 512 bins at 64 per octave from librosa's default C1
  (32.70 Hz) to 8372 Hz (below the 11025 Hz Nyquist frequency of 22050 Hz), hop 128.
  librosa processes octaves by successive halving of the sample rate, so `hop_length`
  must be divisible by `2 ** (ceil(n_bins / bins_per_octave) - 1)` (128 by default),
  and it warns for signals shorter than its longest (lowest-octave) filter: with the
  defaults, fewer than 512 * 128 = 65536 samples (2.97 s at 22050 Hz).

  Args:
    y: waveform `[..., samples]`.
    sample_rate: sample rate of `y`.
    hop_length: hop between frames in samples.
    n_bins: number of constant-Q bins.
    bins_per_octave: bins per octave.
    fmin_hz: centre of the lowest bin; librosa's default C1 (32.70 Hz) if None.

  Returns:
    float32 `[..., time, n_bins]`, `time = 1 + samples // hop_length` (centred frames).
  """
  spec = librosa.cqt(np.asarray(y), sr=sample_rate, hop_length=hop_length, n_bins=n_bins,
                     bins_per_octave=bins_per_octave, fmin=_cqt_fmin_hz(fmin_hz))
  return np.swapaxes(np.abs(spec), -1, -2).astype(np.float32)


def cqt_inverse(
    mag: np.ndarray,
    *,
    sample_rate: float = CQT_SAMPLE_RATE_HZ,
    hop_length: int = CQT_HOP_LENGTH,
    n_bins: int = CQT_N_BINS,
    bins_per_octave: int = BINS_PER_OCTAVE,
    fmin_hz: float | None = None,
    n_iter: int = 32,
    length: int | None = None,
    seed: int = 0,
) -> np.ndarray:
  """Audio from a constant-Q magnitude by `librosa.griffinlim_cqt` (numpy/librosa, not JAX).

  Args:
    mag: magnitude `[..., time, n_bins]`, as from `cqt_magnitude`.
    sample_rate, hop_length, bins_per_octave, fmin_hz: as given to `cqt_magnitude`.
    n_bins: as given to `cqt_magnitude`; checked against `mag.shape[-1]` (catches a
      librosa-layout `[..., n_bins, time]` input).
    n_iter: Griffin-Lim iterations (librosa's momentum 0.99, random initial phase).
    length: output length in samples; by default `hop_length * (time - 1)`.
    seed: seed of the random initial phase.

  Returns:
    float32 waveform `[..., samples]`.

  Raises:
    InputError: if `mag.shape[-1] != n_bins`.
  """
  mag = np.asarray(mag)
  if mag.shape[-1] != n_bins:
    raise InputError(f"CQT magnitude has {mag.shape[-1]} bins on its last axis, expected "
                     f"n_bins={n_bins} (time-major [..., time, n_bins])")
  y = librosa.griffinlim_cqt(
      np.swapaxes(mag, -1, -2), sr=sample_rate, hop_length=hop_length,
      fmin=_cqt_fmin_hz(fmin_hz), bins_per_octave=bins_per_octave, n_iter=n_iter,
      length=length, random_state=seed)
  return y.astype(np.float32)
