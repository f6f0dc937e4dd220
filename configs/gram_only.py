"""The papers' objective (one Gram loss, bound term) on a small, fast net: 2 stacks of 512.

The "before" row of the texture harness (the default of `scripts/texture.py` and
`scripts/stylize.py` before the texture objective) and `scripts/train.py`'s default.

  python scripts/stylize.py --config=configs/gram_only.py --content=speech.wav --style=b.wav
  python scripts/evaluate_set.py --config=configs/texture.py --compare=configs/gram_only.py
"""

from jaxstyle import config


def get_config():
  return config.base()
