"""The default of `scripts/stylize.py`: the papers' objective plus the log-spectrum term.

`config.base()` (one Gram of a 2-stack random net, content relu2) with the spectrogram
optimised as log magnitudes and each bin's log-magnitude distribution matched to the
style's (`spectrum_weight`). On speech x rooster and piano x rooster it follows the
content's onsets better and the style's statistics closer than `configs/gram_only.py`
(BUILD.md "Texture quality", style transfer).

  python scripts/stylize.py --content=speech.wav --style=rooster.wav
"""

from jaxstyle import config


def get_config():
  c = config.base()
  c.parametrization = "log"
  c.spectrum_weight = 100.0
  c.solver = "optax"
  return c
