"""Milacic (2020): the 2 x 2 factorial design, STFT / CQT x max / average pooling.

Style transfer with the Huzaifah & Wyse network (3 stacks of 4096, kernel 11, random
weights, content init), hop 128 (STFT 513 x 862 for 5 s; CQT 512 bins at 64 per octave,
librosa), content relu3, style relu1 + relu2, alpha 1, beta 1e8. The study's pairs are
ESC-50 clips (e.g. style "chicken", content "car horn"); without files the procedural
`rooster` and `tones` stand in. Quick mode: 224 CQT bins at 32 per octave, which
librosa can analyse in 1.5 s clips.

  python scripts/reproduce.py --experiment=m20_factorial --output_dir=out/m20 \
      --style=chicken.wav --content=car_horn.wav
  python scripts/reproduce.py --experiment=m20_factorial --output_dir=/tmp/m20 --quick
"""

import ml_collections

from jaxstyle import config


def get_config():
  e = ml_collections.ConfigDict()
  e.description = "Milacic 2 x 2 style transfer: STFT / CQT x max / average pooling, hop 128"
  e.paper = "Milacic (2020), section 5.1, Tables 2 and 3"
  e.task = "style_transfer"
  e.base = config.huzaifah2019()
  e.base.hop_length = 128
  e.base.init = "content"
  e.base.content_weight = 1.0
  e.base.style_weight = 1e8
  e.style = ("rooster",)
  e.content = "tones"
  e.sound_s = 5.0
  e.grid_columns = 2
  e.variants = [dict(name=f"{spectrogram}_{pooling}",
                     overrides={"spectrogram": spectrogram, "net.pooling": pooling})
                for spectrogram in ("stft", "cqt") for pooling in ("max", "avg")]
  e.quick = dict(sound_s=1.5, config=dict(
      n_fft=512, iterations=15, phase_iterations=10, log_every=5, cqt_bins=224,
      cqt_bins_per_octave=32, net=dict(channels=64)))
  return e
