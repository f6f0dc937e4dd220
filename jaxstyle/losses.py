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


def style_loss(features: jnp.ndarray, target_gram: jnp.ndarray) -> jnp.ndarray:
  """Mean squared difference between the Gram of `features` and `target_gram`."""
  return jnp.mean((gram(features) - target_gram) ** 2)


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
    style_grams: Mapping[str, jnp.ndarray],
    content_features: Mapping[str, jnp.ndarray],
) -> dict[str, jnp.ndarray]:
  """Unweighted `style` (summed over style layers), `content` and `bound` terms.

  Args:
    x: the spectrogram being optimised (any shape).
    features: its named feature maps.
    style_grams: `{layer: [channels, channels]}` targets.
    content_features: `{layer: feature map}` targets, shaped as `features[layer]`.
  """
  zero = jnp.zeros((), x.dtype)
  return {
      "style": sum((style_loss(features[k], g) for k, g in style_grams.items()), zero),
      "content": sum((content_loss(features[k], f) for k, f in content_features.items()), zero),
      "bound": bound_loss(x),
  }


def total_loss(terms: Mapping[str, jnp.ndarray], *, style_weight: float,
               content_weight: float, bound_weight: float) -> jnp.ndarray:
  """`content_weight * content + style_weight * style + bound_weight * bound`."""
  return (content_weight * terms["content"] + style_weight * terms["style"]
          + bound_weight * terms["bound"])
