"""Style, content and bound losses, normalised as the reference code of Huzaifah & Wyse.

Feature maps are `[..., positions, channels]` (any leading axes, e.g. batch and the
2D net's time axis, are flattened into positions). With that normalisation the
papers' weights (e.g. content 1, style 1e8, bound 1e-3) behave as in the papers.
All functions are pure and safe under `jit`, `vmap` and `grad`.
"""

from collections.abc import Mapping, Sequence

import jax.numpy as jnp


def gram(features: jnp.ndarray | Sequence[jnp.ndarray]) -> jnp.ndarray:
  """Gram matrix `F^T F / positions`, `[channels, channels]`.

  Args:
    features: one feature map `[..., positions, channels]`, or several (e.g. of
      style clips of different lengths), concatenated along positions first
      (multi-texture, Huzaifah & Wyse 5.3.2).
  """
  maps = [features] if isinstance(features, jnp.ndarray) else list(features)
  flat = jnp.concatenate([f.reshape(-1, f.shape[-1]) for f in maps], axis=0)
  return flat.T @ flat / flat.shape[0]


def style_target(features: jnp.ndarray | Sequence[jnp.ndarray]) -> jnp.ndarray:
  """A factor `L` `[positions, channels]` of the style Gram: `gram(features) == L.T @ L`.

  `features` as for `gram` (several clips are concatenated). Zero rows may be appended
  (e.g. to batch clips of different lengths): they leave `L.T @ L` unchanged.
  """
  maps = [features] if isinstance(features, jnp.ndarray) else list(features)
  flat = jnp.concatenate([f.reshape(-1, f.shape[-1]) for f in maps], axis=0)
  return flat / jnp.sqrt(flat.shape[0])


def style_loss(features: jnp.ndarray, target: jnp.ndarray) -> jnp.ndarray:
  """Mean squared difference between `gram(features)` and `target.T @ target`.

  Args:
    features: `[..., positions, channels]`, N positions and C channels in all.
    target: the style Gram's factor `L` `[R, channels]` (`style_target`).

  With `A = F / sqrt(N)`, `||A^T A - L^T L||^2 = ||A A^T||^2 - 2 ||A L^T||^2 +
  ||L L^T||^2`: when `N + R < C` (a 1D net over a few seconds: 431 frames, 4096
  channels) the position products cost `O((N + R) N C)` instead of the Grams'
  `O(N C^2)`, which made the paper texture setting a third faster. Otherwise the
  Grams are formed. Both are exact; the first cancels at the scale of `||G||^2`
  rather than of each entry, which measured as no loss of convergence over 30
  L-BFGS iterations of the paper setting (style loss down 450x either way).
  """
  a = features.reshape(-1, features.shape[-1])
  n, c = a.shape
  if n + target.shape[0] < c:
    a = a / jnp.sqrt(n)
    return (jnp.sum((a @ a.T) ** 2) - 2 * jnp.sum((a @ target.T) ** 2)
            + jnp.sum((target @ target.T) ** 2)) / c**2
  return jnp.mean((a.T @ a / n - target.T @ target) ** 2)


def content_loss(features: jnp.ndarray, target: jnp.ndarray) -> jnp.ndarray:
  """Mean squared difference between feature maps of the same shape."""
  return jnp.mean((features - target) ** 2)


def bound_loss(x: jnp.ndarray) -> jnp.ndarray:
  """L2 norm of the excess of `x` outside `[0, 1]`; zero gradient inside."""
  excess = jnp.maximum(x - 1.0, 0.0) + jnp.maximum(-x, 0.0)
  sq = jnp.sum(excess**2)
  # sqrt has an infinite slope at 0; this keeps the gradient 0 there, as PyTorch's norm.
  return jnp.where(sq > 0, jnp.sqrt(jnp.where(sq > 0, sq, 1.0)), 0.0)


def loss_terms(
    x: jnp.ndarray,
    features: Mapping[str, jnp.ndarray],
    *,
    style_targets: Mapping[str, jnp.ndarray],
    content_features: Mapping[str, jnp.ndarray],
) -> dict[str, jnp.ndarray]:
  """Unweighted `style` (summed over style layers), `content` and `bound` terms.

  Args:
    x: the spectrogram being optimised (any shape).
    features: its named feature maps.
    style_targets: `{layer: [R, channels]}` factors of the style Grams (`style_target`).
    content_features: `{layer: feature map}` targets, shaped as `features[layer]`.
  """
  zero = jnp.zeros((), x.dtype)
  return {
      "style": sum((style_loss(features[k], t) for k, t in style_targets.items()), zero),
      "content": sum((content_loss(features[k], f) for k, f in content_features.items()), zero),
      "bound": bound_loss(x),
  }


def total_loss(terms: Mapping[str, jnp.ndarray], *, style_weight: float,
               content_weight: float, bound_weight: float) -> jnp.ndarray:
  """`content_weight * content + style_weight * style + bound_weight * bound`."""
  return (content_weight * terms["content"] + style_weight * terms["style"]
          + bound_weight * terms["bound"])
