"""Huzaifah & Wyse (2019): 1D frequency-as-channels net, 3 stacks of 4096, kernel 11.

Random weights, 513 x ~431 STFT (n_fft 1024, hop 256 at 22050 Hz), L-BFGS 500
iterations; style transfer weights of a random net with content init (alpha 1,
beta 1e8, gamma 1e-3), style relu1 + relu2, content relu3. For textures the paper
uses beta 1e9.

  python scripts/stylize.py --config=configs/huzaifah2019.py --content=a.wav --style=b.wav
  python scripts/texture.py --config=configs/huzaifah2019.py --style=b.wav \
      --config.style_weight=1e9
"""

from jaxstyle import config


def get_config():
  return config.huzaifah2019()
