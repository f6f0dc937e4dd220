"""Phase reconstruction: fast Griffin-Lim (Perraudin et al. 2013) in JAX.

Magnitudes are `[..., time, freq]` (see `jaxstyle.spectral`).
"""

import functools

import jax
import jax.numpy as jnp

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
