"""jaxstyle's texture default: log-spectrogram statistics beside a random net's Grams.

`jaxstyle.config.texture()`: the measured choice behind it is BUILD.md "Texture quality".

  python scripts/texture.py --config=configs/texture.py --style=rain.wav --duration_s=10
  python scripts/evaluate_set.py --config=configs/texture.py --output_dir=out/quality
"""

from jaxstyle import config


def get_config():
  return config.texture()
