"""Griffin-Lim: convergence with iterations, against librosa's quality."""

import jax
import librosa
import numpy as np

from jaxstyle import examples
from jaxstyle import metrics
from jaxstyle import phase
from jaxstyle import spectral

N_FFT, HOP = 512, 128


def test_spectral_convergence_improves_with_iterations():
  y = examples.birds_and_rain(seconds=1.0, seed=3)
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


def test_to_audio_undoes_the_scaling():
  y = examples.tones(seconds=1.0, seed=4)
  spec = spectral.spectrogram(y, n_fft=N_FFT, hop_length=HOP)
  audio, sc = phase.to_audio(spec, n_fft=N_FFT, hop_length=HOP, log_max=spectral.LOG_MAX,
                             n_iter=30, momentum=0.99, seed=0, length=y.size)
  assert audio.shape == y.shape and sc < 0.2
  # Same loudness as the original (the magnitudes were restored, not left log-scaled).
  np.testing.assert_allclose(np.sqrt(np.mean(np.square(audio))), np.sqrt(np.mean(y**2)),
                             rtol=0.2)
