"""Huzaifah & Wyse (2019), section 5.3.1: infinite textures, 3 times the style's length.

Texture synthesis (alpha 0, beta 1e9, gamma 1e-3, noise init, random network): the
Gram matrices average over time, so the output may be longer than the style. With the
1D frequency-as-channels network and with the 2D network. The paper does not give the
2D network's width (only that it roughly matches the 1D network's parameter count, which
would be about 1270 channels of 11 x 11 kernels); 128 channels here keep it tractable.

  python scripts/reproduce.py --experiment=h19_infinite --output_dir=out/h19_infinite \
      --style=rain.wav
  python scripts/reproduce.py --experiment=h19_infinite --output_dir=/tmp/h19_inf --quick
"""

import ml_collections

from jaxstyle import config


def get_config():
  e = ml_collections.ConfigDict()
  e.description = "5.3.1 infinite textures: output 3x the style's length (1D freq and 2D nets)"
  e.paper = "Huzaifah & Wyse (2019), section 5.3.1"
  e.task = "texture"
  e.base = config.huzaifah2019_texture()
  e.style = ("birds",)
  e.content = None
  e.sound_s = 5.0
  e.grid_columns = 2
  e.variants = [
      dict(name="freq_3x", overrides={}, duration_factor=3),
      dict(name="2d_3x", overrides={"net.orientation": "2d", "net.channels": 128},
           duration_factor=3, quick={"net.channels": 16, "net.kernel_size": 5}),
  ]
  e.quick = dict(sound_s=1.5, config=dict(
      n_fft=512, hop_length=128, iterations=15, phase_iterations=10, log_every=5,
      net=dict(channels=64)))
  return e
