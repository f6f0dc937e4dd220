"""Phase reconstruction in JAX: single-pass spectrogram inversion and fast Griffin-Lim.

Magnitudes are `[..., time, freq]` (see `jaxstyle.spectral`). `GriffinLim` holds the
settings of a synthesis' reconstruction.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp

from jaxstyle import spectral
from jaxstyle.errors import InputError

INITS = ("random", "spsi")


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class GriffinLim:
  """How a synthesis' spectrogram gets its phase (config keys `phase_init`,
  `phase_iterations`, `phase_momentum`): `griffin_lim`'s `init`, `n_iter`, `momentum`."""

  init: str = "spsi"
  iterations: int = 100
  momentum: float = 0.99

  def __post_init__(self):
    if self.init not in INITS:
      raise InputError(f"config.phase_init must be one of {INITS}, got {self.init!r}")
    if not self.iterations >= 0:
      raise InputError(f"config.phase_iterations must be >= 0, got {self.iterations!r}")
    if not 0 <= self.momentum < 1:
      raise InputError(f"config.phase_momentum must be in [0, 1), got {self.momentum!r}")


def spsi_phase(mag: jnp.ndarray, *, n_fft: int, hop_length: int) -> jnp.ndarray:
  """Single-pass spectrogram inversion phase (Beauregard, Harish & Wyse 2015).

  Frame by frame, each spectral peak's phase advances by `hop_length` times its
  instantaneous frequency (quadratic interpolation of the peak); the bins of its lobe
  take the peak's phase, those on the far side of the interpolated maximum shifted by
  pi (the Hann window's alternating lobe signs). Bins outside any lobe keep their phase.

  Args:
    mag: linear magnitude `[time, freq]`, `freq = n_fft // 2 + 1`.

  Returns:
    Phase `[time, freq]` in radians.
  """
  n_freq = mag.shape[-1]
  bins = jnp.arange(n_freq)

  def frame(acc, m):
    left, right = jnp.pad(m[:-1], (1, 0)), jnp.pad(m[1:], (0, 1))
    inner = (bins > 0) & (bins < n_freq - 1)
    peak = inner & (m > left) & (m > right)
    denom = left - 2 * m + right
    p = jnp.where(peak & (denom != 0), 0.5 * (left - right) / jnp.where(denom != 0, denom, 1), 0)
    peak_phase = acc + 2 * jnp.pi * hop_length * (bins + p) / n_fft
    # Each bin's peak: uphill to the right if m rises there, else uphill to the left.
    next_peak = jax.lax.cummin(jnp.where(peak, bins, n_freq), reverse=True)
    prev_peak = jax.lax.cummax(jnp.where(peak, bins, -1))
    rising, falling = m < right, m < left
    owner = jnp.where(peak, bins, jnp.where(rising, next_peak, jnp.where(falling, prev_peak, -1)))
    owned = (owner >= 0) & (owner < n_freq)
    j = jnp.clip(owner, 0, n_freq - 1)
    flip = jnp.where(p[j] > 0, (bins < j) | (bins == j + 1), (bins > j) | (bins == j - 1))
    phase = jnp.where(owned, peak_phase[j] + jnp.pi * flip, acc)
    return phase, phase

  _, phases = jax.lax.scan(frame, jnp.zeros(n_freq, mag.dtype), mag)
  return phases


@functools.partial(jax.jit,
                   static_argnames=("n_fft", "hop_length", "n_iter", "length", "init", "circular"))
def griffin_lim(
    mag: jnp.ndarray,
    key: jax.Array,
    *,
    n_fft: int,
    hop_length: int,
    n_iter: int = 100,
    momentum: float = 0.99,
    length: int | None = None,
    init: str = "random",
    circular: bool = False,
    known: jnp.ndarray | None = None,
) -> jnp.ndarray:
  """Waveform whose STFT magnitude approximates `mag`, as `librosa.griffinlim`.

  Starts from uniformly random phases drawn with `key` (`init="random"`) or from
  single-pass spectrogram inversion (`init="spsi"`, `spsi_phase`); `momentum` 0 gives
  the classic algorithm.

  Args:
    mag: linear magnitude `[time, freq]`, `freq = n_fft // 2 + 1`.
    key: PRNG key of the initial phases (unused by `spsi`).
    n_fft, hop_length: STFT parameters of `mag`.
    n_iter: iterations (0: the initial phases only).
    momentum: the fast Griffin-Lim momentum, in [0, 1).
    length: output samples (default `hop_length * (time - 1)`).
    init: `random` or `spsi`.
    circular: `mag` is a ring's (`spectral.stft(..., circular=True)`): the waveform is
      a seamless loop of `hop_length * time` samples (`length` is ignored).
    known: the complex STFT `[frames, freq]` of the first frames, held: their
      magnitudes replace `mag`'s and their phases are kept at every iteration, so the
      waveform continues the one they came from (its samples that only those frames
      cover are that waveform's).

  Returns:
    Waveform `[samples]`.
  """
  stft = functools.partial(spectral.stft, n_fft=n_fft, hop_length=hop_length, circular=circular)
  istft = functools.partial(spectral.istft, n_fft=n_fft, hop_length=hop_length, length=length,
                            circular=circular)
  if init == "spsi":
    angles = jnp.exp(1j * spsi_phase(mag, n_fft=n_fft, hop_length=hop_length))
  elif init == "random":
    angles = jnp.exp(2j * jnp.pi * jax.random.uniform(key, mag.shape))
  else:
    raise ValueError(f"init must be one of {INITS}, got {init!r}")
  eps = jnp.finfo(mag.dtype).tiny
  hold = lambda a: a  # noqa: E731
  if known is not None:
    mag = mag.at[:len(known)].set(jnp.abs(known))
    hold = lambda a: a.at[:len(known)].set(known / (jnp.abs(known) + eps))  # noqa: E731
  angles = hold(angles)

  def body(_, carry):
    angles, prev = carry
    rebuilt = stft(istft(mag * angles))
    angles = rebuilt - (momentum / (1.0 + momentum)) * prev
    return hold(angles / (jnp.abs(angles) + eps)), rebuilt

  angles, _ = jax.lax.fori_loop(0, n_iter, body, (angles, jnp.zeros_like(angles)))
  return istft(mag * angles)
