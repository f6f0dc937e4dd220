"""Huzaifah & Wyse (2019), section 5.3.2 (Fig. 9): one texture of several sounds.

Texture synthesis (alpha 0, beta 1e9, gamma 1e-3, noise init, random network) from three
style clips at once: their feature maps are concatenated along time before the Gram
matrix. The output is 4 times the longest clip (20 s from 5 s clips). The paper mixes
speech, piano and a rooster (and, in Fig. 8, three bird recordings); without files the
procedural `babble`, `piano` and `rooster` stand in. Clips may differ in length.

  python scripts/reproduce.py --experiment=h19_multi --output_dir=out/h19_multi \
      --style=chirp1.wav,chirp2.wav,chirp3.wav
  python scripts/reproduce.py --experiment=h19_multi --output_dir=/tmp/h19_multi --quick
"""

import ml_collections

from jaxstyle import config


def get_config():
  e = ml_collections.ConfigDict()
  e.description = "5.3.2 multi-texture: three style clips -> one texture of 4x their length"
  e.paper = "Huzaifah & Wyse (2019), section 5.3.2, Figs. 8 and 9"
  e.task = "texture"
  e.base = config.huzaifah2019_texture()
  e.style = ("babble", "piano", "rooster")
  e.content = None
  e.sound_s = 5.0
  e.grid_columns = 3
  e.variants = [dict(name="mix_4x", overrides={}, duration_factor=4)]
  e.quick = dict(sound_s=1.5, config=dict(
      n_fft=512, hop_length=128, iterations=15, phase_iterations=10, log_every=5,
      net=dict(channels=64)))
  return e
