"""Huzaifah & Wyse (2019), section 5.3.3 (Figs. 10, 11 left): kernel widths 1 / 11 / 101.

Texture synthesis (alpha 0, beta 1e9, gamma 1e-3, noise init, random network) with both
1D orientations: frequency bins as channels (the kernel spans time: the length of the
textural elements) and time frames as channels (the kernel spans frequency). The paper
uses speech and piano; without files the procedural `babble` stands in. The time
orientation needs the output as long as the style, so the duration is the style's.

  python scripts/reproduce.py --experiment=h19_kernels --output_dir=out/h19_kernels \
      --style=speech.wav
  python scripts/reproduce.py --experiment=h19_kernels --output_dir=/tmp/h19_k --quick
"""

import ml_collections

from jaxstyle import config


def get_config():
  e = ml_collections.ConfigDict()
  e.description = "5.3.3 textures with kernel widths 1 / 11 / 101, freq and time orientations"
  e.paper = "Huzaifah & Wyse (2019), section 5.3.3, Figs. 10 and 11 (left)"
  e.task = "texture"
  e.base = config.huzaifah2019_texture()
  e.style = ("babble",)
  e.content = None
  e.sound_s = 5.0
  e.grid_columns = 3
  e.variants = [dict(name=f"{orientation}_k{width}",
                     overrides={"net.orientation": orientation, "net.kernel_size": width})
                for orientation in ("freq", "time") for width in (1, 11, 101)]
  e.quick = dict(sound_s=1.5, config=dict(
      n_fft=512, hop_length=128, iterations=15, phase_iterations=10, log_every=5,
      net=dict(channels=64)))
  return e
