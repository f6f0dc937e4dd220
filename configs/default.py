"""A small, fast demo network (2 stacks of 512 channels, kernel 11, 100 iterations).

  python scripts/texture.py --config=configs/default.py
  python scripts/stylize.py --content=speech.wav --style=rooster.wav
"""

from jaxstyle import config


def get_config():
  return config.base()
