"""The papers' objective (one Gram loss, bound term) on a small, fast net: 2 stacks of 512.

The default of `scripts/stylize.py`, and the "before" row of the texture harness
(`scripts/texture.py`'s default until the texture objective of `config.texture()`).

  python scripts/stylize.py --content=speech.wav --style=rooster.wav
  python scripts/evaluate_set.py --config=configs/texture.py --compare=configs/gram_only.py
"""

from jaxstyle import config


def get_config():
  return config.base()
