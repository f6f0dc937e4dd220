"""jaxstyle: audio neural style transfer and texture synthesis in JAX.

The entry points (see `jaxstyle.api`): `texture` and `stylize` (waveforms in and
out), `load_audio`, `load_config`; for spectrogram-level work `spectrogram` (a
config's representation of a waveform), `synthesize` (the optimisation) and
`resynthesize` (back to a waveform).
"""

from jaxstyle.api import load_audio
from jaxstyle.api import load_config
from jaxstyle.api import stylize
from jaxstyle.api import texture
from jaxstyle.errors import InputError
from jaxstyle.representation import analyze as spectrogram
from jaxstyle.representation import resynthesize
from jaxstyle.synthesis import synthesize

__all__ = ["InputError", "load_audio", "load_config", "resynthesize", "spectrogram",
           "stylize", "synthesize", "texture"]
