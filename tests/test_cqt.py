"""The log-frequency map of the STFT (JAX) and the librosa constant-Q front-end."""

import jax
from jax import test_util as jtu
import jax.numpy as jnp
import librosa
import numpy as np
import pytest
import scipy.signal

from jaxstyle import cqt
from jaxstyle.errors import InputError

SAMPLE_RATE_HZ = 22050
N_FFT = 1024
HOP_LENGTH = 256
BIN_WIDTH_HZ = SAMPLE_RATE_HZ / N_FFT


def _stft_magnitude(y, hop_length=HOP_LENGTH):
  """librosa's STFT magnitude, transposed to `[..., time, freq]`."""
  return np.swapaxes(np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=hop_length)), -1, -2)


def _sines(freqs_hz, seconds):
  time_s = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
  return (0.5 * np.sin(2 * np.pi * np.asarray(freqs_hz)[:, None] * time_s)).astype(np.float32)


def _tones_and_bursts(seed=0, seconds=1.5):
  """Three decaying harmonic notes (11 partials, 1/k) and six low-passed noise bursts."""
  rng = np.random.default_rng(seed)
  n = int(seconds * SAMPLE_RATE_HZ)
  time_s = np.arange(n) / SAMPLE_RATE_HZ
  y = np.zeros(n)
  for f0_hz, start_s, stop_s in [(220.0, 0.0, 0.8), (330.0, 0.5, 1.5), (277.2, 0.9, 1.4)]:
    envelope = (time_s >= start_s) * (time_s < stop_s) * np.exp(-2 * (time_s - start_s))
    for k in range(1, 12):
      y += envelope * np.sin(2 * np.pi * k * f0_hz * time_s + rng.uniform(0, 2 * np.pi)) / k
  low_pass = scipy.signal.butter(2, 3000, fs=SAMPLE_RATE_HZ, output="sos")
  burst = 2205
  for start in rng.integers(0, n - burst, size=6):
    noise = scipy.signal.sosfilt(low_pass, rng.standard_normal(burst))
    y[start : start + burst] += 0.5 * noise * np.exp(-np.arange(burst) / 400)
  return (0.1 * y / np.sqrt(np.mean(y**2))).astype(np.float32)


@pytest.fixture(scope="module")
def fmap():
  return cqt.log_frequency_map(sample_rate=SAMPLE_RATE_HZ, n_fft=N_FFT)


@pytest.fixture(scope="module")
def centres_hz():
  return cqt.log_frequency_centres_hz(sample_rate=SAMPLE_RATE_HZ, n_fft=N_FFT)


@pytest.mark.parametrize("sample_rate, n_fft, bins_per_octave, n_bins, fmin_hz", [
    (22050, 1024, 64, None, None), (16000, 512, 48, None, None), (22050, 2048, 24, 100, 55.0),
])
def test_centres_match_librosa(sample_rate, n_fft, bins_per_octave, n_bins, fmin_hz):
  kwargs = dict(sample_rate=sample_rate, n_fft=n_fft, bins_per_octave=bins_per_octave,
                n_bins=n_bins, fmin_hz=fmin_hz)
  centres_hz = cqt.log_frequency_centres_hz(**kwargs)
  fmin_hz = fmin_hz or 2 * sample_rate / n_fft
  np.testing.assert_allclose(
      centres_hz, librosa.cqt_frequencies(len(centres_hz), fmin=fmin_hz,
                                          bins_per_octave=bins_per_octave), rtol=1e-9)
  if n_bins is None:  # As many bins as fit below Nyquist.
    assert centres_hz[-1] < sample_rate / 2 <= centres_hz[-1] * 2 ** (1 / bins_per_octave)
  else:
    assert len(centres_hz) == n_bins
  fmap = cqt.log_frequency_map(**kwargs)
  assert fmap.shape == (n_fft // 2 + 1, len(centres_hz)) and fmap.dtype == np.float32
  np.testing.assert_allclose(fmap.sum(axis=0), 1.0, rtol=1e-5)
  # Each column is centred on its bin: its centroid is exactly the centre where it linearly
  # interpolates (log bins denser than STFT bins), and close to it where it averages.
  centroids_hz = (sample_rate / n_fft * np.arange(n_fft // 2 + 1)) @ fmap
  spacing_hz = centres_hz * (2 ** (1 / bins_per_octave) - 1)
  interpolating = spacing_hz < sample_rate / n_fft
  np.testing.assert_allclose(centroids_hz[interpolating], centres_hz[interpolating], rtol=1e-5)
  assert np.all(np.abs(centroids_hz - centres_hz) <= 0.25 * spacing_hz)


def test_default_map_spans_the_spectrum(centres_hz):
  assert len(centres_hz) == 512
  np.testing.assert_allclose(centres_hz[0], 2 * BIN_WIDTH_HZ)
  assert 10_000 < centres_hz[-1] < SAMPLE_RATE_HZ / 2


@pytest.mark.parametrize("kwargs", [dict(n_bins=600), dict(fmin_hz=0.0), dict(fmin_hz=12000.0)])
def test_map_rejects_bad_config(kwargs):
  with pytest.raises(InputError):
    cqt.log_frequency_map(sample_rate=SAMPLE_RATE_HZ, n_fft=N_FFT, **kwargs)


def test_sinusoid_peaks_at_nearest_log_bin(fmap, centres_hz):
  """Exact where log bins are wider than STFT bins; to STFT resolution below.

  Below ~2 kHz the map only interpolates between STFT bins, so its peak is where the
  STFT's is: within half an STFT bin of f, plus half a log-bin spacing.
  """
  freqs_hz = np.array([220.0, 440.0, 1000.0, 3000.0, 6000.0, 9000.0])
  logmag = np.asarray(cqt.to_log_frequency(_stft_magnitude(_sines(freqs_hz, 1.0)), fmap))
  peaks = np.argmax(logmag.mean(axis=-2), axis=-1)
  for f_hz, peak in zip(freqs_hz, peaks, strict=True):
    nearest = np.argmin(np.abs(centres_hz - f_hz))
    spacing_hz = f_hz * (2 ** (1 / cqt.BINS_PER_OCTAVE) - 1)
    if spacing_hz >= BIN_WIDTH_HZ:
      assert peak == nearest, f_hz
    else:
      assert abs(centres_hz[peak] - f_hz) <= (BIN_WIDTH_HZ + spacing_hz) / 2, f_hz


def test_round_trip_error(fmap):
  """Measured 0.0305 with the pseudo-inverse, 0.168 with Ellis' normalised transpose."""
  mag = _stft_magnitude(_tones_and_bursts())
  fmap_inv = cqt.log_frequency_inverse(fmap)
  assert fmap_inv.shape == fmap.shape[::-1]
  recovered = cqt.from_log_frequency(cqt.to_log_frequency(mag, fmap), fmap_inv)
  assert recovered.shape == mag.shape and np.all(np.asarray(recovered) >= 0)
  error = cqt.round_trip_error(mag, fmap, fmap_inv)
  np.testing.assert_allclose(error, np.linalg.norm(recovered - mag) / np.linalg.norm(mag),
                             rtol=1e-4)
  assert error < 0.05
  row_sums = fmap.sum(axis=1)
  ellis_inv = (fmap / np.where(row_sums > 0, row_sums, 1.0)[:, None]).T
  assert error < cqt.round_trip_error(mag, fmap, ellis_inv)


def test_round_trip_error_white_noise(fmap):
  """Measured 0.289: the high-frequency bin-to-bin detail of noise is averaged away."""
  noise = np.random.default_rng(1).standard_normal(SAMPLE_RATE_HZ).astype(np.float32)
  error = cqt.round_trip_error(_stft_magnitude(noise), fmap, cqt.log_frequency_inverse(fmap))
  assert error < 0.33


def test_grad_matches_closed_form(fmap):
  mag = np.abs(np.random.default_rng(0).standard_normal((7, fmap.shape[0]))).astype(np.float32)
  weights = np.random.default_rng(1).uniform(size=(7, fmap.shape[1])).astype(np.float32)
  loss = lambda m: jnp.sum(weights * jnp.log1p(cqt.to_log_frequency(m, fmap)) ** 2)
  grad = jax.jit(jax.grad(loss))(mag)
  logmag = mag @ fmap
  expected = (2 * weights * np.log1p(logmag) / (1 + logmag)) @ fmap.T
  np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


def test_grad_matches_finite_differences():
  fmap = cqt.log_frequency_map(sample_rate=8000, n_fft=64, bins_per_octave=12)
  fmap_inv = cqt.log_frequency_inverse(fmap)
  mag = np.random.default_rng(2).uniform(0.5, 1.5, size=(3, fmap.shape[0]))
  f = lambda m: jnp.sum(jnp.sin(cqt.from_log_frequency(cqt.to_log_frequency(m, fmap), fmap_inv)))
  # from_log_frequency clips at 0: keep away from that kink in the STFT bins the map reads
  # (the others, e.g. DC, are 0 whatever the input: flat, no kink).
  reached = fmap.sum(axis=1) > 0
  assert np.all((mag @ fmap @ fmap_inv)[:, reached] > 0.05)
  jtu.check_grads(jax.jit(f), (mag,), order=1, modes=["rev"], eps=1e-3)


def test_jit_and_vmap_match_loop(fmap):
  batch = _stft_magnitude(_sines([300.0, 2500.0, 7000.0], 0.3))
  fmap_inv = cqt.log_frequency_inverse(fmap)
  to_log = jax.jit(jax.vmap(cqt.to_log_frequency, in_axes=(0, None)))
  from_log = jax.jit(jax.vmap(cqt.from_log_frequency, in_axes=(0, None)))
  logmag = to_log(batch, fmap)
  scale = np.abs(batch).max()
  for i, mag in enumerate(batch):
    np.testing.assert_allclose(logmag[i], mag @ fmap, rtol=1e-5, atol=1e-5 * scale)
    np.testing.assert_allclose(logmag[i], cqt.to_log_frequency(mag, fmap), rtol=1e-6,
                               atol=1e-6 * scale)
    np.testing.assert_allclose(from_log(logmag, fmap_inv)[i],
                               cqt.from_log_frequency(logmag[i], fmap_inv), rtol=1e-5,
                               atol=1e-5 * scale)
  # Leading batch dimensions broadcast without vmap too.
  np.testing.assert_allclose(cqt.to_log_frequency(batch, fmap), logmag, rtol=1e-5,
                             atol=1e-5 * scale)


# librosa's CQT with Milacic's defaults warns for signals under 512 * 128 samples.
CQT_SECONDS = 3.0


def test_librosa_cqt_shape_and_sinusoid_peaks():
  freqs_hz = np.array([220.0, 440.0, 1000.0, 3000.0])
  y = _sines(freqs_hz, CQT_SECONDS)
  mag = cqt.cqt_magnitude(y)
  assert mag.shape == (len(freqs_hz), 1 + y.shape[-1] // cqt.CQT_HOP_LENGTH, cqt.CQT_N_BINS)
  assert mag.dtype == np.float32
  centres_hz = librosa.cqt_frequencies(cqt.CQT_N_BINS, fmin=librosa.note_to_hz("C1"),
                                       bins_per_octave=cqt.BINS_PER_OCTAVE)
  peaks = np.argmax(mag.mean(axis=-2), axis=-1)
  np.testing.assert_array_equal(peaks, np.argmin(np.abs(centres_hz - freqs_hz[:, None]), -1))


def test_cqt_inverse_round_trip():
  """Measured relative CQT-magnitude error: 0.41, 0.275 and 0.21 after 1, 4 and 32 iterations."""
  y = _tones_and_bursts(seed=3, seconds=CQT_SECONDS)
  mag = cqt.cqt_magnitude(y)
  audio = cqt.cqt_inverse(mag, n_iter=4, length=len(y))
  assert audio.shape == y.shape and audio.dtype == np.float32
  error = np.linalg.norm(cqt.cqt_magnitude(audio) - mag) / np.linalg.norm(mag)
  assert error < 0.35


def test_cqt_inverse_rejects_frequency_major_input():
  with pytest.raises(InputError):
    cqt.cqt_inverse(np.zeros((cqt.CQT_N_BINS, 100), np.float32))
