"""The stacked conv -> batchnorm -> ReLU -> pool networks of Huzaifah & Wyse (2019).

Three orientations of a spectrogram `[time, freq]` (see `net_input`):
- `freq`: 1D over time, frequency bins as channels; input `[batch, time, freq]`.
- `time`: 1D over frequency, time frames as channels; input `[batch, freq, time]`.
- `2d`:   2D over time and frequency, one channel; input `[batch, time, freq, 1]`.

The network returns its named intermediate outputs, `conv1`, `bn1`, `relu1`, `pool1`,
`conv2`, ..., each `[batch, *spatial, channels]`. Parameters are frozen: they are an
argument of `net.apply`, never optimised by synthesis.
"""

from collections.abc import Sequence
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

ORIENTATIONS = ("freq", "time", "2d")
POOLINGS = ("max", "avg")
TAP_KINDS = ("conv", "bn", "relu", "pool")


def torch_uniform(fan_in: int) -> nn.initializers.Initializer:
  """PyTorch's default conv init: uniform in `+-1/sqrt(fan_in)` (weights and biases)."""
  bound = 1.0 / math.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


class Conv1D(nn.Module):
  """1D "same" convolution as one matrix product (im2col), `[..., T, C] -> [..., T, features]`.

  The parameters are those of `nn.Conv` (`kernel` `[k, C, features]`, `bias`), but the
  `k` shifted copies of the input are concatenated along channels and multiplied by the
  kernel reshaped to `[k * C, features]`: XLA:CPU runs that, and its gradient, as large
  matrix products near the machine's matmul peak, where its convolution (notably the
  input gradient) reaches well under half of it (see BUILD.md).
  """

  features: int
  kernel_size: int
  kernel_init: nn.initializers.Initializer
  bias_init: nn.initializers.Initializer

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    k, t = self.kernel_size, x.shape[-2]
    kernel = self.param("kernel", self.kernel_init, (k, x.shape[-1], self.features))
    bias = self.param("bias", self.bias_init, (self.features,))
    lo = (k - 1) // 2  # lax's "SAME": the extra pad of an even kernel goes at the end
    xp = jnp.pad(x, [(0, 0)] * (x.ndim - 2) + [(lo, k - 1 - lo), (0, 0)])
    cols = jnp.concatenate([xp[..., i:i + t, :] for i in range(k)], axis=-1)
    return cols @ kernel.reshape(-1, self.features) + bias


class StackedConv(nn.Module):
  """`stacks` x (conv -> batchnorm -> ReLU -> pool), "same" padding, stride 1.

  Attributes:
    orientation: `freq`, `time` or `2d` (see the module docstring).
    channels: output channels of each stack, length `stacks`.
    kernel_size: kernel width (1D) or side (2D).
    pooling: `max` or `avg`; window and stride 2 on every spatial axis, floor.
  """

  orientation: str = "freq"
  channels: Sequence[int] = (4096, 4096, 4096)
  kernel_size: int = 11
  pooling: str = "max"

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
    ndim = 2 if self.orientation == "2d" else 1
    kernel = (self.kernel_size,) * ndim
    pool = nn.max_pool if self.pooling == "max" else nn.avg_pool
    feats = {}
    for i, ch in enumerate(self.channels, start=1):
      fan_in = x.shape[-1] * self.kernel_size**ndim
      init = dict(kernel_init=torch_uniform(fan_in), bias_init=torch_uniform(fan_in),
                  name=f"conv{i}")
      if ndim == 1:
        x = Conv1D(ch, self.kernel_size, **init)(x)
      else:
        x = nn.Conv(ch, kernel, padding="SAME", **init)(x)
      feats[f"conv{i}"] = x
      # PyTorch BatchNorm defaults: eps 1e-5, momentum 0.1 (Flax: 0.9).
      x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                       name=f"bn{i}")(x)
      feats[f"bn{i}"] = x
      x = nn.relu(x)
      feats[f"relu{i}"] = x
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


def from_config(c) -> StackedConv:
  """The network a config (`jaxstyle.config`) describes: `net.stacks` x `net.channels`."""
  return StackedConv(orientation=c.net.orientation, channels=(c.net.channels,) * c.net.stacks,
                     kernel_size=c.net.kernel_size, pooling=c.net.pooling)


def random_variables(c, n_frames: int, n_freq: int) -> dict:
  """Frozen random variables (seed `net.seed`) of `from_config(c)` for `[n_frames, n_freq]`."""
  in_shape = {"freq": (1, 8, n_freq), "time": (1, n_freq, n_frames), "2d": (1, 8, 8, 1)}
  return init(from_config(c), c.net.seed, in_shape[c.net.orientation])


def init(net: StackedConv, seed: int, input_shape: Sequence[int]) -> dict:
  """Frozen variables (`params` and `batch_stats`) for an input of `input_shape`.

  `input_shape` is `[batch, *spatial, in_channels]`; only the channel count matters
  for the parameter shapes, so pass a short spatial extent where it is free.
  """
  return jax.jit(net.init)(jax.random.key(seed), jnp.zeros(input_shape, jnp.float32))
