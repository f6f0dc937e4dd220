"""Texture synthesis and style transfer on network-scale spectrograms `[time, freq]`.

`synthesize` optimises a spectrogram with L-BFGS so that its Gram matrices at the
style layers match those of the style clip(s) and, for style transfer, its features
at the content layers match the content's. The network is frozen; only the
spectrogram is differentiated.
"""

from collections.abc import Callable, Sequence
import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxstyle import config as config_lib
from jaxstyle import losses
from jaxstyle import nets
from jaxstyle import optimize
from jaxstyle import train
from jaxstyle.errors import InputError

# Noise init, as the reference code: uniform in [0, NOISE_INIT_SCALE).
NOISE_INIT_SCALE = 0.1


def weights(c: ml_collections.ConfigDict) -> dict[str, jnp.ndarray]:
  """The loss weights of a config, as arrays: an argument of the objective, not a constant,
  so runs that differ only in weights share one compiled program (and can be batched)."""
  return {k: jnp.float32(c[f"{k}_weight"]) for k in ("style", "content", "bound")}


@functools.cache
def objective(net: nets.StackedConv, style_layers: tuple[str, ...],
              content_layers: tuple[str, ...]):
  """`fun(x, variables, style_targets, content_features, weights) -> (total, terms)`.

  `x` is a spectrogram `[time, freq]`; `weights` as from `weights(c)`. Cached, so
  equal networks and layers share one compiled solver step.
  """
  until = max(style_layers + content_layers, key=nets.tap_depth)

  def fun(x, variables, style_targets, content_features, weights):
    feats = net.apply(variables, nets.net_input(x, net.orientation)[None], until=until)
    terms = losses.loss_terms(x, feats, style_targets=style_targets,
                              content_features=content_features)
    total = losses.total_loss(terms, style_weight=weights["style"],
                              content_weight=weights["content"], bound_weight=weights["bound"])
    return total, terms

  return fun


def features(net: nets.StackedConv, variables: dict, spec: jnp.ndarray,
             layers: Sequence[str]) -> dict[str, jnp.ndarray]:
  """Features `{layer: [1, *spatial, channels]}` of one spectrogram `[time, freq]`."""
  feats = net.apply(variables, nets.net_input(spec, net.orientation)[None],
                    until=max(layers, key=nets.tap_depth))
  return {k: feats[k] for k in layers}


@dataclasses.dataclass
class Result:
  """A synthesized spectrogram `[time, freq]` (network scale) and how it was made."""

  spectrogram: np.ndarray
  history: dict[str, list[float]]
  stop_reason: str | None
  compile_seconds: float


class Problem(NamedTuple):
  """One synthesis as an optimisation problem: minimise `fun(x, *args)` from `x0`.

  Attributes:
    fun: the objective (`objective(...)`), shared by every problem of one network,
      layers and task.
    x0: the initial spectrogram `[time, freq]`.
    args: `(variables, style_targets, content_features, weights)`, the objective's
      arguments after `x`.
  """

  fun: Callable[..., Any]
  x0: jnp.ndarray
  args: tuple[Any, ...]


def problem(
    c: ml_collections.ConfigDict,
    *,
    style: Sequence[np.ndarray],
    content: np.ndarray | None = None,
    n_frames: int | None = None,
    seed: int = 0,
    variables: dict | None = None,
) -> Problem:
  """The objective, start and targets of `synthesize` (same arguments), not yet solved."""
  n_freq = style[0].shape[-1]
  if content is not None:
    n_frames = content.shape[0]
  n_frames = n_frames or max(s.shape[0] for s in style)
  if c.net.orientation == "time":
    lengths = {s.shape[0] for s in style} | {n_frames}
    if len(lengths) > 1:
      raise InputError(
          "the 'time' orientation uses time frames as channels, so the output and every "
          f"style (and content) clip must have the same number of frames; got {sorted(lengths)} "
          "(set the duration to the style's, or use net.orientation=freq or 2d)")
  net = nets.from_config(c)
  if variables is None and c.params:
    variables = train.load_variables(c.params, c, n_frames=n_frames, n_freq=n_freq)
  elif variables is None:
    variables = nets.random_variables(c, n_frames, n_freq)
  s_layers, c_layers = config_lib.style_layers(c), config_lib.content_layers(c)
  if content is None:
    c_layers = ()
  variables = nets.prepare(c, variables, max(map(nets.tap_depth, s_layers + c_layers)))

  style_feats = [features(net, variables, jnp.asarray(s), s_layers) for s in style]
  style_targets = {k: losses.style_target([f[k] for f in style_feats]) for k in s_layers}
  content_feats = {} if content is None else features(net, variables, jnp.asarray(content),
                                                      c_layers)
  if content is not None and c.init == "content":
    x0 = jnp.asarray(content, jnp.float32)
  else:
    x0 = NOISE_INIT_SCALE * jax.random.uniform(jax.random.key(seed), (n_frames, n_freq))
  return Problem(objective(net, s_layers, c_layers), x0,
                 (variables, style_targets, content_feats, weights(c)))


def synthesize(
    c: ml_collections.ConfigDict,
    *,
    style: Sequence[np.ndarray],
    content: np.ndarray | None = None,
    n_frames: int | None = None,
    seed: int = 0,
    variables: dict | None = None,
) -> Result:
  """Texture synthesis (no content) or style transfer.

  Args:
    c: a checked config (`jaxstyle.config.check`).
    style: style spectrograms `[time_i, freq]` (network scale); several clips of any
      lengths form one multi-texture target (features concatenated along time).
    content: content spectrogram `[time, freq]` for style transfer; the output has
      its shape.
    n_frames: output frames for texture synthesis (default: the longest style).
      Any value for the `freq` and `2d` orientations; for `time`, where frames are
      channels, it must equal the style's frame count.
    seed: seed of the noise init.
    variables: frozen network variables (default: the checkpoint `c.params`, else
      random from `c.net.seed`).

  Returns:
    The best spectrogram found and the loss history.
  """
  p = problem(c, style=style, content=content, n_frames=n_frames, seed=seed, variables=variables)
  solver = optimize.lbfgs(p.fun, solver=c.solver, history_size=c.history_size)
  res = optimize.minimize(solver, p.x0, *p.args, iterations=c.iterations, log_every=c.log_every,
                          stall_iterations=c.stall_iterations, stall_tolerance=c.stall_tolerance)
  return Result(np.asarray(res.x), res.history, res.stop_reason, res.compile_seconds)
