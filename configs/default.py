"""The default of `scripts/texture.py`: the texture objective on a small, fast net.

`config.texture()` (configs/texture.py) with 256 channels, 60 iterations and 30 on the
waveform, so the built-in example runs in under a minute on 2 CPU cores.

  python scripts/texture.py
  python scripts/texture.py --style=rain.wav --duration_s=10
"""

from jaxstyle import config


def get_config():
  c = config.texture()
  c.net.channels = 256
  c.iterations = 60
  c.refine_iterations = 30
  c.log_every = 10
  return c
