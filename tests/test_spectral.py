"""The JAX front-end against librosa, and its inverses."""

import jax
from jax import test_util as jtu
import jax.numpy as jnp
import librosa
import numpy as np
import pytest

from jaxstyle import examples
from jaxstyle import spectral


def _signal(n, seed=0):
  return np.random.default_rng(seed).standard_normal(n).astype(np.float32)


@pytest.mark.parametrize("n, n_fft, hop, win", [
    (22050, 1024, 256, None), (5000, 512, 128, None), (4097, 1024, 128, None),
    (3001, 256, 100, 200), (1024, 1024, 256, None),
])
def test_stft_matches_librosa(n, n_fft, hop, win):
  x = _signal(n)
  ours = jax.jit(lambda x: spectral.stft(x, n_fft=n_fft, hop_length=hop, win_length=win))(x)
  ref = librosa.stft(x, n_fft=n_fft, hop_length=hop, win_length=win).T
  assert ours.shape == ref.shape == (spectral.num_frames(n, hop_length=hop, n_fft=n_fft),
                                     n_fft // 2 + 1)
  assert ours.shape[0] == 1 + n // hop
  np.testing.assert_allclose(ours, ref, atol=1e-4 * np.abs(ref).max(), rtol=0)


@pytest.mark.parametrize("length", [None, 20000, 23000])
@pytest.mark.parametrize("n_fft, hop, win", [(1024, 256, None), (512, 128, 400)])
def test_istft_matches_librosa(length, n_fft, hop, win):
  spec = librosa.stft(_signal(22050, seed=1), n_fft=n_fft, hop_length=hop, win_length=win)
  # A spectrogram that is not the STFT of any signal exercises the normalisation.
  spec = spec * np.exp(1j * np.random.default_rng(2).uniform(0, 6.3, spec.shape))
  ours = jax.jit(lambda s: spectral.istft(s, n_fft=n_fft, hop_length=hop, win_length=win,
                                          length=length))(spec.T)
  ref = librosa.istft(spec, n_fft=n_fft, hop_length=hop, win_length=win, length=length)
  assert ours.shape == ref.shape
  np.testing.assert_allclose(ours, ref, atol=1e-4 * np.abs(ref).max(), rtol=0)


def test_round_trip_and_batch():
  x = np.stack([examples.tones(duration_s=1.0, seed=s) for s in range(3)])
  spec = spectral.stft(x, n_fft=512, hop_length=128)
  assert spec.shape == (3, 1 + x.shape[-1] // 128, 257)
  y = spectral.istft(spec, n_fft=512, hop_length=128, length=x.shape[-1])
  np.testing.assert_allclose(y, x, atol=1e-5)
  one = jax.vmap(lambda v: spectral.stft(v, n_fft=512, hop_length=128))(x)
  np.testing.assert_allclose(one, spec, atol=1e-5)


def test_compress_inverse_and_range():
  mag = jnp.array([0.0, 1.0, 100.0, np.expm1(7.0)])
  x = spectral.compress(mag)
  np.testing.assert_allclose(x[jnp.array([0, 3])], [0.0, 1.0], atol=1e-6)
  np.testing.assert_allclose(spectral.decompress(x), mag, rtol=1e-5)
  np.testing.assert_allclose(spectral.compress(spectral.decompress(x)), x, atol=1e-6)


def test_magnitude_gradient_is_finite_at_zero():
  g = jax.grad(lambda z: jnp.sum(spectral.magnitude(z)))(jnp.array([0j, 3 + 4j]))
  assert np.all(np.isfinite(g))
  np.testing.assert_allclose(g[1], 0.6 - 0.8j, atol=1e-6)  # d|z| = z / |z| (conjugated)


def test_spectrogram_gradient_matches_finite_differences():
  x = jnp.asarray(_signal(600, seed=3))
  f = lambda x: jnp.sum(spectral.spectrogram(x, n_fft=128, hop_length=32) ** 2)
  jtu.check_grads(f, (x,), order=1, modes=["rev"], atol=1e-2, rtol=1e-2, eps=1e-2)


def test_too_short_for_one_frame():
  with pytest.raises(ValueError, match="shorter than n_fft"):
    spectral.stft(jnp.zeros(100), n_fft=1024, hop_length=256, center=False)


@pytest.mark.parametrize("n_fft, hop", [(16, 4), (16, 6), (12, 5), (8, 8)])
def test_frame_and_overlap_add_against_indexing(n_fft, hop):
  x = _signal(2 * 61).reshape(2, 61)
  idx = spectral._frame_index(1 + (61 - n_fft) // hop, n_fft, hop)
  frames = spectral.frame(jnp.asarray(x), n_fft=n_fft, hop_length=hop)
  np.testing.assert_array_equal(frames, x[:, idx])
  expected = np.zeros((2, n_fft + hop * (idx.shape[0] - 1)), np.float32)
  for t, row in enumerate(idx):
    expected[:, row] += x[:, idx[t]]
  np.testing.assert_allclose(spectral.overlap_add(frames, hop_length=hop), expected, rtol=1e-6)
