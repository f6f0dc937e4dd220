"""Spectral front-end in pure JAX: STFT, inverse STFT, magnitude and log scaling.

Shapes are time-major: a waveform is `[..., samples]` and a spectrogram is
`[..., time, freq]` with `freq = n_fft // 2 + 1`. (librosa returns `[freq, time]`;
we transpose only in tests and plots.)

With `center=True` the signal is zero-padded by `n_fft // 2` on both sides (librosa's
default `pad_mode="constant"`), so the frame count is `1 + samples // hop_length`.
With `circular=True` the signal is a ring (a seamless loop): frames wrap around its
end, there are `samples // hop_length` of them and `samples` must be a multiple of
`hop_length`.

Every function is pure and safe under `jit`, `vmap` and `grad`; size arguments
(`n_fft`, `hop_length`, ...) must be static under `jit`.
"""

import math

import jax.numpy as jnp
import numpy as np

# The reference code maps log1p magnitudes from [0, LOG_MAX] to [0, 1].
LOG_MAX = 7.0


def hann_window(win_length: int, n_fft: int) -> np.ndarray:
  """Periodic Hann window of `win_length`, zero-padded at both ends to `[n_fft]`.

  This is `scipy.signal.get_window("hann", win_length, fftbins=True)` centred in
  `n_fft` samples, as librosa does.
  """
  if not 0 < win_length <= n_fft:
    raise ValueError(f"win_length must be in (0, n_fft={n_fft}], got {win_length}")
  n = np.arange(win_length)
  window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / win_length)
  left = (n_fft - win_length) // 2
  return np.pad(window, (left, n_fft - win_length - left)).astype(np.float32)


def num_frames(num_samples: int, *, hop_length: int, n_fft: int, center: bool = True,
               circular: bool = False) -> int:
  """Frame count: `samples // hop` on a ring, `1 + samples // hop` if centred, else
  `1 + (samples - n_fft) // hop`."""
  if circular:
    return num_samples // hop_length
  if center:
    return 1 + num_samples // hop_length
  return 1 + (num_samples - n_fft) // hop_length


def _frame_index(n_frames: int, n_fft: int, hop_length: int) -> np.ndarray:
  """`[n_frames, n_fft]` sample indices of each frame."""
  return hop_length * np.arange(n_frames)[:, None] + np.arange(n_fft)[None, :]


# Framing and overlap-add without gathers or scatters (which XLA compiles and runs
# slowly): the signal is cut into blocks of g = gcd(n_fft, hop) samples; frame t is
# blocks t*s ... t*s + r - 1, with s = hop / g and r = n_fft / g, i.e. r strided slices.


def frame(x: jnp.ndarray, *, n_fft: int, hop_length: int) -> jnp.ndarray:
  """`[..., samples]` -> `[..., 1 + (samples - n_fft) // hop_length, n_fft]` frames."""
  g = math.gcd(n_fft, hop_length)
  r, s = n_fft // g, hop_length // g
  n_frames = 1 + (x.shape[-1] - n_fft) // hop_length
  blocks = x[..., : (s * (n_frames - 1) + r) * g].reshape(*x.shape[:-1], -1, g)
  parts = [blocks[..., j : j + s * (n_frames - 1) + 1 : s, :] for j in range(r)]
  return jnp.stack(parts, axis=-2).reshape(*x.shape[:-1], n_frames, n_fft)


def overlap_add(frames: jnp.ndarray, *, hop_length: int) -> jnp.ndarray:
  """`[..., time, n_fft]` -> `[..., n_fft + hop_length * (time - 1)]`, frames summed."""
  *lead, n_frames, n_fft = frames.shape
  g = math.gcd(n_fft, hop_length)
  r, s = n_fft // g, hop_length // g
  parts = frames.reshape(*lead, n_frames, r, 1, g)
  n_blocks = s * (n_frames - 1) + r
  out = 0
  for j in range(r):
    # Row t of part j goes to block j + s * t: space the rows s apart, shift them by j.
    rows = jnp.pad(parts[..., j, :, :], [(0, 0)] * (len(lead) + 1) + [(0, s - 1), (0, 0)])
    rows = rows.reshape(*lead, n_frames * s, g)[..., : s * (n_frames - 1) + 1, :]
    pad = [(0, 0)] * len(lead) + [(j, n_blocks - j - rows.shape[-2]), (0, 0)]
    out = out + jnp.pad(rows, pad)
  return out.reshape(*lead, n_blocks * g)


def stft(
    x: jnp.ndarray,
    *,
    n_fft: int,
    hop_length: int,
    win_length: int | None = None,
    center: bool = True,
    circular: bool = False,
) -> jnp.ndarray:
  """Short-time Fourier transform with a Hann window, as `librosa.stft`.

  Args:
    x: waveform `[..., samples]`.
    n_fft: FFT size in samples.
    hop_length: hop between frames in samples.
    win_length: Hann window length (default `n_fft`), centred in the frame.
    center: zero-pad `n_fft // 2` samples at both ends, so frame `t` is centred on
      sample `t * hop_length`.
    circular: the signal is a ring: frame `t` is still centred on sample
      `t * hop_length`, its samples taken modulo the length (a multiple of
      `hop_length`, at least `n_fft // 2`); `center` is then ignored.

  Returns:
    Complex spectrogram `[..., time, freq]`, `time = num_frames(samples, ...)`,
    `freq = n_fft // 2 + 1`.
  """
  window = hann_window(win_length or n_fft, n_fft)
  n = x.shape[-1]
  if circular:
    _check_ring(n, n_fft, hop_length)
    x = jnp.take(x, np.arange(-(n_fft // 2), n + n_fft // 2) % n, axis=-1)
  elif center:
    pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
    x = jnp.pad(x, pad)
  if x.shape[-1] < n_fft:
    raise ValueError(f"signal of {x.shape[-1]} samples is shorter than n_fft={n_fft}")
  frames = frame(x, n_fft=n_fft, hop_length=hop_length)
  if circular:
    frames = frames[..., : n // hop_length, :]
  return jnp.fft.rfft(frames * window, n=n_fft, axis=-1)


def _check_ring(n: int, n_fft: int, hop_length: int) -> None:
  if n % hop_length or n < n_fft // 2:
    raise ValueError(f"a circular STFT needs a length that is a multiple of hop_length="
                     f"{hop_length} and at least n_fft // 2 = {n_fft // 2}, got {n}")


def istft(
    spec: jnp.ndarray,
    *,
    n_fft: int,
    hop_length: int,
    win_length: int | None = None,
    center: bool = True,
    length: int | None = None,
    circular: bool = False,
) -> jnp.ndarray:
  """Inverse STFT by weighted overlap-add, as `librosa.istft`.

  Args:
    spec: complex spectrogram `[..., time, freq]`, `freq = n_fft // 2 + 1`.
    n_fft, hop_length, win_length, center: as given to `stft`.
    length: output length in samples (zero-padded or cut); by default
      `hop_length * (time - 1)` if centred. Ignored on a ring.
    circular: invert a circular `stft`: the overlap-added frames wrap around the
      ring of `hop_length * time` samples, its length.

  Returns:
    Waveform `[..., samples]`.
  """
  window = hann_window(win_length or n_fft, n_fft)
  n_frames = spec.shape[-2]
  frames = jnp.fft.irfft(spec, n=n_fft, axis=-1) * window
  total = n_fft + hop_length * (n_frames - 1)
  index = _frame_index(n_frames, n_fft, hop_length)
  y = overlap_add(frames, hop_length=hop_length)
  if circular:
    ring = hop_length * n_frames
    _check_ring(ring, n_fft, hop_length)
    place = (np.arange(total) - n_fft // 2) % ring
    y = jnp.zeros((*y.shape[:-1], ring), y.dtype).at[..., place].add(y)
    wss = np.bincount(place[index.ravel()], np.broadcast_to(window**2, index.shape).ravel(),
                      ring)
    return y / np.maximum(wss, np.finfo(np.float32).tiny).astype(np.float32)
  # Window sum-square normalisation, where it is not (numerically) zero.
  wss = np.bincount(index.ravel(), np.broadcast_to(window**2, index.shape).ravel(), total)
  nonzero = wss > np.finfo(np.float32).tiny
  y = y * np.where(nonzero, 1.0 / np.where(nonzero, wss, 1.0), 1.0).astype(np.float32)
  start = n_fft // 2 if center else 0
  if length is None:
    return y[..., start : total - start]
  y = y[..., start : start + length]
  return jnp.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, length - y.shape[-1])])


def magnitude(spec: jnp.ndarray) -> jnp.ndarray:
  """`|spec|`, with a zero (not NaN) gradient where `spec == 0`. Same shape."""
  power = jnp.real(spec) ** 2 + jnp.imag(spec) ** 2
  safe = jnp.where(power > 0, power, 1.0)
  return jnp.where(power > 0, jnp.sqrt(safe), 0.0)


def compress(mag: jnp.ndarray, *, log_max: float = LOG_MAX) -> jnp.ndarray:
  """Network scale: `log1p(mag) / log_max`, mapping `[0, log_max]` nats to `[0, 1]`."""
  return jnp.log1p(mag) / log_max


def decompress(x: jnp.ndarray, *, log_max: float = LOG_MAX) -> jnp.ndarray:
  """Exact inverse of `compress`: `expm1(x * log_max)`."""
  return jnp.expm1(x * log_max)


def spectrogram(
    x: jnp.ndarray, *, n_fft: int, hop_length: int, log_max: float = LOG_MAX,
    circular: bool = False,
) -> jnp.ndarray:
  """Waveform `[..., samples]` -> network-scale spectrogram `[..., time, freq]`."""
  return compress(magnitude(stft(x, n_fft=n_fft, hop_length=hop_length, circular=circular)),
                  log_max=log_max)
