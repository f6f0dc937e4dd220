"""Griffin-Lim: convergence with iterations, against librosa's quality."""

import jax
import librosa
import numpy as np
import pytest

from jaxstyle import config
from jaxstyle import examples
from jaxstyle import metrics
from jaxstyle import phase
from jaxstyle import representation
from jaxstyle import spectral

N_FFT, HOP = 512, 128


def test_spectral_convergence_improves_with_iterations():
  y = examples.birds_and_rain(duration_s=1.0, seed=3)
  mag = spectral.magnitude(spectral.stft(y, n_fft=N_FFT, hop_length=HOP))
  sc = {}
  for n in (0, 10, 50):
    audio = phase.griffin_lim(mag, jax.random.key(0), n_fft=N_FFT, hop_length=HOP, n_iter=n,
                              length=y.size)
    sc[n] = metrics.spectral_convergence(mag, audio, n_fft=N_FFT, hop_length=HOP)
  assert sc[50] < sc[10] < sc[0]
  # As good as librosa's fast Griffin-Lim at the same iteration count (other random init).
  ref = librosa.griffinlim(np.asarray(mag).T, n_iter=50, hop_length=HOP, n_fft=N_FFT,
                           momentum=0.99, random_state=0, length=y.size)
  sc_ref = metrics.spectral_convergence(mag, ref, n_fft=N_FFT, hop_length=HOP)
  assert sc[50] < 1.25 * sc_ref


@pytest.mark.parametrize("kind", representation.SPECTROGRAMS)
def test_resynthesize_undoes_the_representation(kind):
  c = config.base()
  c.spectrogram, c.hop_length, c.phase_iterations = kind, 128, 30
  y = examples.tones(duration_s=3.0, seed=4)  # librosa's CQT wants >= 3 s at these settings
  r = config.representation_spec(c)
  spec = representation.analyze(y, r)
  bins = {"stft": c.n_fft // 2 + 1, "cqt_map": c.cqt_bins, "cqt": c.cqt_bins}[kind]
  assert spec.shape == (1 + y.size // c.hop_length, bins) and r.n_bins == bins
  audio, sc = representation.resynthesize(spec, r, config.phase_spec(c), length=y.size, seed=0)
  assert audio.shape == y.shape and sc < 0.3
  # Same loudness as the original (the magnitudes were restored, not left log-scaled).
  np.testing.assert_allclose(np.sqrt(np.mean(np.square(audio))), np.sqrt(np.mean(y**2)),
                             rtol=0.25)


def test_spsi_recovers_a_sinusoid_and_helps_griffin_lim():
  t = np.arange(22050) / 22050
  y = (0.5 * np.sin(2 * np.pi * 441.3 * t) + 0.3 * np.sin(2 * np.pi * 1234.5 * t)).astype(
      np.float32)
  mag = spectral.magnitude(spectral.stft(y, n_fft=N_FFT, hop_length=HOP))
  sc = {}
  for init in phase.INITS:
    for n in (0, 5):
      audio = phase.griffin_lim(mag, jax.random.key(0), n_fft=N_FFT, hop_length=HOP, n_iter=n,
                                length=y.size, init=init)
      sc[init, n] = metrics.spectral_convergence(mag, audio, n_fft=N_FFT, hop_length=HOP)
  # Stationary partials: the phase advance hop * 2 pi f / rate is what SPSI estimates.
  assert sc["spsi", 0] < 0.1 < 0.5 < sc["random", 0]
  assert sc["spsi", 5] < sc["random", 5]
