"""jaxstyle: audio neural style transfer and texture synthesis in JAX.

The entry points (see `jaxstyle.api`): `texture` and `stylize` (waveforms in and
out), `load_audio`, `load_config`, `spectrogram` and `resynthesize` (a config's
representation of a waveform, and back). For JAX programs of your own: `spec` (a
config's frozen `synthesis.Spec`), `analyze` (style waveforms -> targets, pure) and
`generate` (targets and a key -> a texture, one pure program to `jit`, `vmap`, shard).
"""

from jaxstyle.api import load_audio
from jaxstyle.api import load_config
from jaxstyle.api import resynthesize
from jaxstyle.api import spectrogram
from jaxstyle.api import stylize
from jaxstyle.api import texture
from jaxstyle.config import spec
from jaxstyle.errors import InputError
from jaxstyle.synthesis import Spec
from jaxstyle.synthesis import analyze
from jaxstyle.synthesis import generate

__all__ = ["InputError", "Spec", "analyze", "generate", "load_audio", "load_config",
           "resynthesize", "spec", "spectrogram", "stylize", "texture"]
