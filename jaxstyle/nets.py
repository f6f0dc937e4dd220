"""The stacked conv -> batchnorm -> ReLU -> pool networks of Huzaifah & Wyse (2019).

Three orientations of a spectrogram `[time, freq]` (see `net_input`):
- `freq`: 1D over time, frequency bins as channels; input `[batch, time, freq]`.
- `time`: 1D over frequency, time frames as channels; input `[batch, freq, time]`.
- `2d`:   2D over time and frequency, one channel; input `[batch, time, freq, 1]`.

The network returns its named intermediate outputs, `conv1`, `bn1`, `relu1`, `pool1`,
`conv2`, ..., each `[batch, *spatial, channels]`. Parameters are frozen: they are an
argument of `net.apply`, never optimised by synthesis.

A `circular` network sees time as a ring (a seamless loop): its convolutions pad the
time axis with the other end of the input instead of zeros (frequency stays zero-
padded), so no position is an edge.
"""

from collections.abc import Sequence
import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxstyle.errors import InputError

ORIENTATIONS = ("freq", "time", "2d")
POOLINGS = ("max", "avg")
CONVS = ("im2col", "fft")  # how 1D convs run (`Conv1D`)
TAP_KINDS = ("conv", "bn", "relu", "pool")
# Fewest outputs per overlap-save block of `fft_conv` (`fft_block`), chosen by measurement.
FFT_MIN_HOP = 16


def torch_uniform(fan_in: int) -> nn.initializers.Initializer:
  """PyTorch's default conv init: uniform in `+-1/sqrt(fan_in)` (weights and biases)."""
  bound = 1.0 / math.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


class Conv1D(nn.Module):
  """1D "same" convolution, `[..., T, C] -> [..., T, features]`, as matrix products.

  The parameters are those of `nn.Conv` (`kernel` `[k, C, features]`, `bias`). By
  default the `k` shifted copies of the input are concatenated along channels and
  multiplied by the kernel reshaped to `[k * C, features]` (im2col): XLA:CPU runs that,
  and its gradient, near the machine's matmul peak, where its own convolution (notably
  the input gradient) reaches well under half of it. When the variables also hold this
  layer's `spectral` kernel (`with_spectral_kernels`), the convolution runs by
  overlap-save FFT instead (`fft_conv`), which does a few times fewer multiplies for
  kernels wider than a few taps (see BUILD.md). `circular`: `T` is a ring (`same_pad`).
  """

  features: int
  kernel_size: int
  kernel_init: nn.initializers.Initializer
  bias_init: nn.initializers.Initializer
  circular: bool = False

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    k, t = self.kernel_size, x.shape[-2]
    kernel = self.param("kernel", self.kernel_init, (k, x.shape[-1], self.features))
    bias = self.param("bias", self.bias_init, (self.features,))
    if self.has_variable("spectral", "kernel"):
      return fft_conv(x, self.get_variable("spectral", "kernel"), k,
                      circular=self.circular) + bias
    xp = same_pad(x, k, axis=-2, circular=self.circular)
    cols = jnp.concatenate([xp[..., i:i + t, :] for i in range(k)], axis=-1)
    return cols @ kernel.reshape(-1, self.features) + bias


class MultiConv1D(nn.Module):
  """Parallel `Conv1D` branches of several widths, outputs concatenated along channels.

  `[..., T, C] -> [..., T, features]`; branch `k{w}` of width `w` has
  `features // len(kernel_sizes)` channels (the first takes the remainder), each with
  PyTorch's default init for its own fan-in. Multi-scale random features after
  Antognini et al. (2019), in one network, so the Gram also holds cross-scale terms.
  """

  features: int
  kernel_sizes: Sequence[int]
  circular: bool = False

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    n = len(self.kernel_sizes)
    sizes = [self.features // n + (i == 0) * (self.features % n) for i in range(n)]
    outs = []
    for w, ch in zip(self.kernel_sizes, sizes, strict=True):
      init = torch_uniform(x.shape[-1] * w)
      outs.append(Conv1D(ch, w, kernel_init=init, bias_init=init, circular=self.circular,
                         name=f"k{w}")(x))
    return jnp.concatenate(outs, axis=-1)


def same_pad(x: jnp.ndarray, kernel_size: int, *, axis: int, circular: bool) -> jnp.ndarray:
  """`x` padded along `axis` for a "same" convolution of `kernel_size` taps, as lax's
  "SAME" (an even kernel's extra pad at the end): with zeros, or, if `circular`, with
  the other end of `x` (`x` wraps around; `kernel_size - 1` at most its length)."""
  lo = (kernel_size - 1) // 2
  pad = [(0, 0)] * x.ndim
  pad[axis] = (lo, kernel_size - 1 - lo)
  return jnp.pad(x, pad, mode="wrap" if circular else "constant")


def fft_block(kernel_size: int) -> int:
  """Frames per overlap-save block of `fft_conv`: the smallest power of two that yields
  `FFT_MIN_HOP` outputs per block. Longer blocks do fewer multiplies per output but
  their FFT kernels take more memory, and streaming it bounds these products on a
  CPU: on conv2 of benchmark setting A (4096 channels, kernel 11) blocks of 32 ran
  1.4x faster than blocks of 64 (and about 2x faster than 16, timed on a busy machine);
  at kernel 101 (1024 channels) blocks of 128 ran 1.4x faster than 256 (BUILD.md)."""
  return 1 << math.ceil(math.log2(kernel_size - 1 + FFT_MIN_HOP))


def spectral_kernel(kernel: jnp.ndarray, block: int) -> jnp.ndarray:
  """Conv kernel `[k, C, F]` -> its FFT kernel `[block // 2 + 1, C, F]` (complex) for
  `fft_conv`: the conjugate DFT over `block` taps, as the convolution of deep learning
  is a correlation."""
  return jnp.conj(jnp.fft.rfft(kernel, n=block, axis=0))


def fft_conv(x: jnp.ndarray, spectral: jnp.ndarray, kernel_size: int, *,
             circular: bool = False) -> jnp.ndarray:
  """`Conv1D` without bias, `[..., T, C] -> [..., T, F]`, by overlap-save FFT.

  The padded input is cut into `n` blocks of `block` frames that overlap by
  `kernel_size - 1`; per frequency, their DFTs `[n, C]` are multiplied by the
  `spectral` kernel `[block // 2 + 1, C, F]` (`spectral_kernel`), and each inverse DFT
  keeps its `block - kernel_size + 1` valid outputs. That is about
  `2 (block + 2) / (block - kernel_size + 1)` real multiply-adds per output frame and
  channel pair instead of im2col's `kernel_size`. `circular`: `T` is a ring.
  """
  k, t = kernel_size, x.shape[-2]
  block = 2 * (spectral.shape[-3] - 1)
  hop = block - k + 1
  n = -(-t // hop)
  xp = same_pad(x, k, axis=-2, circular=circular)  # [..., t + k - 1, C]
  xp = jnp.pad(xp, [(0, 0)] * (x.ndim - 2) + [(0, n * hop - t), (0, 0)])
  frames = xp[..., jnp.arange(n)[:, None] * hop + jnp.arange(block), :]  # [..., n, block, C]
  xf = jnp.fft.rfft(frames, axis=-2)  # [..., n, bins, C]
  yf = jax.lax.platform_dependent(xf, spectral, cpu=_per_bin_product, default=_as_real_products)
  out = jnp.fft.irfft(yf, n=block, axis=-2)[..., :hop, :]  # [..., n, hop, F]
  return out.reshape(*out.shape[:-3], n * hop, out.shape[-1])[..., :t, :]


def _per_bin_product(xf: jnp.ndarray, spectral: jnp.ndarray) -> jnp.ndarray:
  """`[..., n, bins, C] x [bins, C, F] -> [..., n, bins, F]`, complex, per bin."""
  return jnp.einsum("...nbc,bcf->...nbf", xf, spectral)


def _as_real_products(xf: jnp.ndarray, spectral: jnp.ndarray) -> jnp.ndarray:
  """`_per_bin_product` as four real products, for accelerators: XLA's GPU backend may
  refuse complex matrix products ("BlasLt is unavailable": jax 0.11.2, CUDA 13, H100).
  XLA's CPU backend runs the complex product at least 1.85x faster (BUILD.md)."""
  a, b, c, d = xf.real, xf.imag, spectral.real, spectral.imag
  return jax.lax.complex(_per_bin_product(a, c) - _per_bin_product(b, d),
                         _per_bin_product(a, d) + _per_bin_product(b, c))


def with_spectral_kernels(variables: dict, depth: int) -> dict:
  """`variables` of a 1D `StackedConv` plus the `spectral` collection that switches the
  convs of its first `depth` stacks to `fft_conv`, for kernels wider than 1.

  Compute it once per network (each kernel grows to `(block + 2) / k` times its size,
  about 3x at kernel 11) and pass the result to `apply` in place of `variables`;
  kernels `variables` already holds are kept, not recomputed.
  """
  params, spectral = variables["params"], dict(variables.get("spectral", {}))

  def transformed(conv: dict) -> dict:
    if "kernel" not in conv:  # a MultiConv1D: one entry per branch
      return {k: v for k, v in ((k, transformed(b)) for k, b in conv.items()) if v}
    kernel = conv["kernel"]
    if kernel.ndim == 3 and kernel.shape[0] > 1:
      return {"kernel": _spectral_kernel(kernel, fft_block(kernel.shape[0]))}
    return {}

  for i in range(1, depth + 1):
    if f"conv{i}" not in spectral and (kernels := transformed(params[f"conv{i}"])):
      spectral[f"conv{i}"] = kernels
  return {**variables, "spectral": spectral}


_spectral_kernel = jax.jit(spectral_kernel, static_argnums=1)


class StackedConv(nn.Module):
  """`stacks` x (conv -> batchnorm -> ReLU -> pool), "same" padding, stride 1.

  Attributes:
    orientation: `freq`, `time` or `2d` (see the module docstring).
    channels: output channels of each stack, length `stacks`.
    kernel_size: kernel width (1D) or side (2D).
    kernel_sizes: 1D only: several widths, each conv then a `MultiConv1D` of them
      (`kernel_size` is unused); empty: one width.
    pooling: `max` or `avg`; window and stride 2 on every spatial axis, floor.
    circular: time is a ring (`freq` and `2d` only): convs wrap around it, and a pool
      that feeds a deeper tap needs an even number of time steps.
  """

  orientation: str = "freq"
  channels: Sequence[int] = (4096, 4096, 4096)
  kernel_size: int = 11
  kernel_sizes: Sequence[int] = ()
  pooling: str = "max"
  circular: bool = False

  @nn.compact
  def __call__(
      self, x: jnp.ndarray, *, until: str | None = None, train: bool = False
  ) -> dict[str, jnp.ndarray]:
    """Named features of `x` (`[batch, *spatial, in_channels]`, see `net_input`).

    Args:
      x: network input.
      until: stop after the stack holding this tap (e.g. `relu2`), so deeper stacks
        cost nothing.
      train: batchnorm uses batch statistics and updates `batch_stats` (training
        only); otherwise its running averages (inference mode).

    Returns:
      `{tap: [batch, *spatial, channels]}` for every tap of the stacks computed.
    """
    if self.orientation not in ORIENTATIONS:
      raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {self.orientation!r}")
    if self.pooling not in POOLINGS:
      raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
    if self.circular and self.orientation == "time":
      raise ValueError("a circular net needs a time axis: orientation freq or 2d")
    ndim = 2 if self.orientation == "2d" else 1
    kernel = (self.kernel_size,) * ndim
    pool = nn.max_pool if self.pooling == "max" else nn.avg_pool
    feats = {}
    for i, ch in enumerate(self.channels, start=1):
      fan_in = x.shape[-1] * self.kernel_size**ndim
      init = dict(kernel_init=torch_uniform(fan_in), bias_init=torch_uniform(fan_in),
                  name=f"conv{i}")
      if ndim == 1 and self.kernel_sizes:
        x = MultiConv1D(ch, tuple(self.kernel_sizes), circular=self.circular,
                        name=f"conv{i}")(x)
      elif ndim == 1:
        x = Conv1D(ch, self.kernel_size, circular=self.circular, **init)(x)
      elif self.circular:  # wrap time, zero-pad frequency
        x = same_pad(same_pad(x, self.kernel_size, axis=1, circular=True), self.kernel_size,
                     axis=2, circular=False)
        x = nn.Conv(ch, kernel, padding="VALID", **init)(x)
      else:
        x = nn.Conv(ch, kernel, padding="SAME", **init)(x)
      feats[f"conv{i}"] = x
      # PyTorch BatchNorm defaults: eps 1e-5, momentum 0.1 (Flax: 0.9).
      x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                       name=f"bn{i}")(x)
      feats[f"bn{i}"] = x
      x = nn.relu(x)
      feats[f"relu{i}"] = x
      if self.circular and x.shape[1] % 2 and until not in feats:
        raise ValueError(f"a circular net pools pairs of time steps: stack {i} has "
                         f"{x.shape[1]}, an odd number")
      x = pool(x, (2,) * ndim, strides=(2,) * ndim)
      feats[f"pool{i}"] = x
      if until in feats:
        break
    if until is not None and until not in feats:
      raise ValueError(f"unknown tap {until!r}; taps are {list(feats)}")
    return feats


def tap_depth(tap: str) -> int:
  """Stack index of a tap name such as `relu2` (-> 2); raises on a bad name."""
  kind, digits = tap.rstrip("0123456789"), tap[len(tap.rstrip("0123456789")):]
  if kind not in TAP_KINDS or not digits or int(digits) < 1:
    raise ValueError(f"bad layer name {tap!r}: expected one of {TAP_KINDS} and a stack "
                     "number, e.g. relu1, conv3")
  return int(digits)


def net_input(spec: jnp.ndarray, orientation: str) -> jnp.ndarray:
  """Spectrogram `[..., time, freq]` -> network input of that orientation.

  `freq`: `[..., time, freq]` as is; `time`: `[..., freq, time]`;
  `2d`: `[..., time, freq, 1]`. Add the batch axis yourself where needed.
  """
  if orientation == "freq":
    return spec
  if orientation == "time":
    return jnp.swapaxes(spec, -1, -2)
  if orientation == "2d":
    return spec[..., None]
  raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")


def input_layout(orientation: str, n_frames: int, n_freq: int) -> tuple[tuple[int, ...], int]:
  """`(spatial shape, channels)` of the input `net_input` makes of a `[n_frames, n_freq]`
  spectrogram: `freq` `((n_frames,), n_freq)`, `time` `((n_freq,), n_frames)`, `2d`
  `((n_frames, n_freq), 1)`."""
  return {"freq": ((n_frames,), n_freq), "time": ((n_freq,), n_frames),
          "2d": ((n_frames, n_freq), 1)}[orientation]


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class Net:
  """A frozen network: its fields are the config keys `net.*` (`kernel_sizes` parsed to
  widths). Frozen and hashable: a static argument under `jit`.

  Attributes:
    orientation: `freq`, `time` or `2d` (module docstring).
    stacks, channels: `stacks` stacks of `channels` channels each.
    kernel_size: the width of every conv, or with `kernel_sizes` (multi-scale, 1D
      only) one `MultiConv1D` branch per width.
    pooling: `max` or `avg`.
    seed: of the random variables (`random_variables`).
    conv: how 1D convs run, `im2col` or `fft` (`prepare`).
  """

  orientation: str = "freq"
  stacks: int = 2
  channels: int = 512
  kernel_size: int = 11
  kernel_sizes: tuple[int, ...] = ()
  pooling: str = "max"
  seed: int = 0
  conv: str = "im2col"

  def __post_init__(self):
    for key, allowed in (("orientation", ORIENTATIONS), ("pooling", POOLINGS), ("conv", CONVS)):
      if getattr(self, key) not in allowed:
        raise InputError(f"config.net.{key} must be one of {allowed}, got "
                         f"{getattr(self, key)!r}")
    for key in ("stacks", "channels", "kernel_size"):
      if not getattr(self, key) > 0:
        raise InputError(f"config.net.{key} must be positive, got {getattr(self, key)!r}")
    if any(w < 1 for w in self.kernel_sizes) or len(set(self.kernel_sizes)) < len(
        self.kernel_sizes):
      raise InputError(f"config.net.kernel_sizes must be positive and distinct, got "
                       f"{self.kernel_sizes}")
    if self.kernel_sizes and self.orientation == "2d":
      raise InputError("config.net.kernel_sizes (multi-scale) is for 1D nets, not "
                       "net.orientation=2d")
    if len(self.kernel_sizes) > self.channels:
      raise InputError(f"config.net.kernel_sizes has {len(self.kernel_sizes)} widths, more "
                       f"than the {self.channels} channels of net.channels")

  def module(self, *, circular: bool = False) -> "StackedConv":
    """The `StackedConv` it describes; `circular`: time is a ring (a loop)."""
    return StackedConv(orientation=self.orientation, channels=(self.channels,) * self.stacks,
                       kernel_size=self.kernel_size, kernel_sizes=self.kernel_sizes,
                       pooling=self.pooling, circular=circular)


def random_variables(n: Net, n_frames: int, n_freq: int) -> dict:
  """Frozen random variables (seed `n.seed`) of `n.module()` for `[n_frames, n_freq]`."""
  spatial, channels = input_layout(n.orientation, n_frames, n_freq)
  # The variables depend on the channels only: 8 positions per axis are enough.
  return init(n.module(), n.seed, (1, *(8 for _ in spatial), channels))


def prepare(n: Net, variables: dict, depth: int) -> dict:
  """`variables` as `n` runs them: with the `spectral` kernels of the first `depth`
  stacks (`with_spectral_kernels`) when `n.conv` is `fft`, else unchanged."""
  return with_spectral_kernels(variables, depth) if n.conv == "fft" else variables


def init(net: StackedConv, seed: int, input_shape: Sequence[int]) -> dict:
  """Frozen variables (`params` and `batch_stats`) for an input of `input_shape`.

  `input_shape` is `[batch, *spatial, in_channels]`; only the channel count matters
  for the parameter shapes, so pass a short spatial extent where it is free.
  """
  return jax.jit(net.init)(jax.random.key(seed), jnp.zeros(input_shape, jnp.float32))
