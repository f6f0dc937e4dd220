"""Milacic (2020): the Huzaifah & Wyse net with hop 128 (513 x 862 for 5 s).

Content relu3, style relu1 + relu2, alpha 1, beta 1e8, max pooling, STFT.

  python scripts/stylize.py --config=configs/milacic2020.py --content=a.wav --style=b.wav
"""

from jaxstyle import config


def get_config():
  c = config.huzaifah2019()
  c.hop_length = 128
  return c
