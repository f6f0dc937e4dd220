"""Huzaifah & Wyse (2019), section 5.2.3 (Fig. 6): random vs pretrained weights x init.

Style transfer with random or pretrained (ESC-50 classifier) weights, from noise or from
the content, each with its weights from the appendix (alpha content, beta style, gamma
bound): pretrained/noise 1, 1e3, 1; random/noise 1e1, 1e7, 1e-3; pretrained/content 1,
1e5, 1e1; random/content 1, 1e8, 1e-3. The paper's content is speech, its style
"Imperial March"; without files the procedural `babble` and `piano` stand in.

The pretrained variants need a checkpoint of this network (`configs/huzaifah2019.py`):

  python scripts/train.py --config=configs/huzaifah2019.py --data_dir=ESC-50 \
      --output=pretrained/huzaifah2019.msgpack
  python scripts/reproduce.py --experiment=h19_weights_init --output_dir=out/h19_weights_init \
      --params=pretrained/huzaifah2019.msgpack --content=speech.wav --style=march.wav

With `--quick` and no `--params`, a tiny classifier of procedural sounds is trained
first (a smoke run, not the paper's pretraining):

  python scripts/reproduce.py --experiment=h19_weights_init --output_dir=/tmp/h19_wi --quick
"""

import ml_collections

from jaxstyle import config


def _weights(init, alpha, beta, gamma):
  return {"init": init, "content_weight": alpha, "style_weight": beta, "bound_weight": gamma}


def get_config():
  e = ml_collections.ConfigDict()
  e.description = "5.2.3 style transfer, random vs pretrained weights x noise vs content init"
  e.paper = "Huzaifah & Wyse (2019), section 5.2.3, Fig. 6"
  e.task = "style_transfer"
  e.base = config.huzaifah2019()
  e.style = ("piano",)
  e.content = "babble"
  e.sound_s = 5.0
  e.grid_columns = 2  # As Fig. 6: noise init on top, random weights on the left.
  e.variants = [
      dict(name="random_noise", overrides=_weights("noise", 1e1, 1e7, 1e-3)),
      dict(name="pretrained_noise", overrides=_weights("noise", 1.0, 1e3, 1.0),
           pretrained=True),
      dict(name="random_content", overrides=_weights("content", 1.0, 1e8, 1e-3)),
      dict(name="pretrained_content", overrides=_weights("content", 1.0, 1e5, 1e1),
           pretrained=True),
  ]
  e.quick = dict(sound_s=1.5, config=dict(
      n_fft=512, hop_length=128, iterations=15, phase_iterations=10, log_every=5,
      net=dict(channels=64)))
  return e
