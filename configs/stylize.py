"""The default of `scripts/stylize.py`: the papers' objective plus spectrum and band statistics.

`config.base()` (one Gram of a 2-stack random net, content relu2) with the spectrogram
optimised as log magnitudes, each bin's log-magnitude distribution matched to the
style's (`spectrum_weight`) and, lightly, the style's ERB-band envelope statistics
(`band_*_weight`, a tenth of the texture default's: more pulls the content's rhythm
away). On speech x rooster and piano x rooster its style statistics are a third of
`configs/gram_only.py`'s, and it follows the content's onsets at least as well
(BUILD.md "Texture quality", style transfer).

  python scripts/stylize.py --content=speech.wav --style=rooster.wav
"""

from jaxstyle import config


def get_config():
  c = config.base()
  c.parametrization = "log"
  c.spectrum_weight = 100.0
  c.band_spectrum_weight = c.band_correlation_weight = c.band_modulation_weight = 100.0
  return c
