"""Huzaifah & Wyse (2019), section 5.3.4 (Fig. 11): STFT vs CQT, kernel widths 1 / 11 / 101.

Texture synthesis (alpha 0, beta 1e9, gamma 1e-3, noise init, random network) with
time frames as channels, on the linear STFT and on its log-frequency map (`cqt_map`:
the paper maps the STFT to constant-Q bins, after Ellis). Full mode: 512 log bins at 64
per octave from 43 Hz. The paper uses speech and piano; without files the procedural
`babble` stands in. Quick mode: 224 bins at 32 per octave (n_fft 512).

  python scripts/reproduce.py --experiment=h19_cqt --output_dir=out/h19_cqt --style=speech.wav
  python scripts/reproduce.py --experiment=h19_cqt --output_dir=/tmp/h19_cqt --quick
"""

import ml_collections

from jaxstyle import config


def get_config():
  e = ml_collections.ConfigDict()
  e.description = "5.3.4 textures on STFT vs CQT map, kernel widths 1 / 11 / 101, time as channels"
  e.paper = "Huzaifah & Wyse (2019), section 5.3.4, Fig. 11"
  e.task = "texture"
  e.base = config.huzaifah2019_texture()
  e.base.net.orientation = "time"
  e.style = ("babble",)
  e.content = None
  e.sound_s = 5.0
  e.grid_columns = 3
  e.variants = [dict(name=f"{spectrogram}_k{width}",
                     overrides={"spectrogram": spectrogram, "net.kernel_size": width})
                for spectrogram in ("stft", "cqt_map") for width in (1, 11, 101)]
  e.quick = dict(sound_s=1.5, config=dict(
      n_fft=512, hop_length=128, iterations=15, phase_iterations=10, log_every=5,
      cqt_bins=224, cqt_bins_per_octave=32, net=dict(channels=64)))
  return e
