"""jaxstyle: audio neural style transfer and texture synthesis in JAX."""

from jaxstyle.errors import InputError

__all__ = ["InputError"]
