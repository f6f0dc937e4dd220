"""Phase reconstruction: fast Griffin-Lim (Perraudin et al. 2013) in JAX.

Magnitudes are `[..., time, freq]` (see `jaxstyle.spectral`).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxstyle import metrics
from jaxstyle import spectral


@functools.partial(jax.jit, static_argnames=("n_fft", "hop_length", "n_iter", "length"))
def griffin_lim(
    mag: jnp.ndarray,
    key: jax.Array,
    *,
    n_fft: int,
    hop_length: int,
    n_iter: int = 100,
    momentum: float = 0.99,
    length: int | None = None,
) -> jnp.ndarray:
  """Waveform whose STFT magnitude approximates `mag`, as `librosa.griffinlim`.

  Starts from uniformly random phases drawn with `key`; `momentum` 0 gives the
  classic algorithm.

  Args:
    mag: linear magnitude `[..., time, freq]`, `freq = n_fft // 2 + 1`.
    key: PRNG key of the initial phases.
    n_fft, hop_length: STFT parameters of `mag`.
    n_iter: iterations.
    momentum: the fast Griffin-Lim momentum, in [0, 1).
    length: output samples (default `hop_length * (time - 1)`).

  Returns:
    Waveform `[..., samples]`.
  """
  stft = functools.partial(spectral.stft, n_fft=n_fft, hop_length=hop_length)
  istft = functools.partial(spectral.istft, n_fft=n_fft, hop_length=hop_length, length=length)
  angles = jnp.exp(2j * jnp.pi * jax.random.uniform(key, mag.shape))
  eps = jnp.finfo(mag.dtype).tiny

  def body(_, carry):
    angles, prev = carry
    rebuilt = stft(istft(mag * angles))
    angles = rebuilt - (momentum / (1.0 + momentum)) * prev
    return angles / (jnp.abs(angles) + eps), rebuilt

  angles, _ = jax.lax.fori_loop(0, n_iter, body, (angles, jnp.zeros_like(angles)))
  return istft(mag * angles)


def to_audio(spec: jnp.ndarray, *, n_fft: int, hop_length: int, log_max: float, n_iter: int,
             momentum: float, seed: int, length: int | None = None) -> tuple[jnp.ndarray, float]:
  """Network-scale spectrogram `[time, freq]` -> (waveform `[samples]`, spectral convergence).

  Undoes the scaling and the log (`spectral.decompress`), clips negative magnitudes
  to 0 and runs Griffin-Lim.
  """
  mag = jnp.maximum(spectral.decompress(jnp.asarray(spec), log_max=log_max), 0.0)
  audio = griffin_lim(mag, jax.random.key(seed), n_fft=n_fft, hop_length=hop_length,
                      n_iter=n_iter, momentum=momentum, length=length)
  convergence = metrics.spectral_convergence(np.asarray(mag), np.asarray(audio), n_fft=n_fft,
                                             hop_length=hop_length)
  return audio, convergence
