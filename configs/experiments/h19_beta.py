"""Huzaifah & Wyse (2019), section 5.2.2 (Fig. 4): varying the style weight.

Style transfer with a random network and content init; alpha 1, gamma 1e-3 and
beta 1e5 / 1e7 / 1e9 (appendix). The paper's content is speech and its style a crowing
rooster; without files the procedural `babble` and `rooster` stand in.

  python scripts/reproduce.py --experiment=h19_beta --output_dir=out/h19_beta \
      --content=speech.wav --style=rooster.wav
  python scripts/reproduce.py --experiment=h19_beta --output_dir=/tmp/h19_beta --quick
"""

import ml_collections

from jaxstyle import config


def get_config():
  e = ml_collections.ConfigDict()
  e.description = "5.2.2 style transfer with beta 1e5 / 1e7 / 1e9 (random net, content init)"
  e.paper = "Huzaifah & Wyse (2019), section 5.2.2, Fig. 4"
  e.task = "style_transfer"
  e.base = config.huzaifah2019()
  e.base.init = "content"
  e.base.content_weight = 1.0
  e.base.bound_weight = 1e-3
  e.style = ("rooster",)
  e.content = "babble"
  e.sound_s = 5.0
  e.grid_columns = 3
  e.variants = [dict(name=f"beta_{beta}", overrides={"style_weight": float(beta)})
                for beta in ("1e5", "1e7", "1e9")]
  e.quick = dict(sound_s=1.5, config=dict(
      n_fft=512, hop_length=128, iterations=15, phase_iterations=10, log_every=5,
      net=dict(channels=64)))
  return e
