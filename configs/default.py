"""The default of `scripts/texture.py`: the texture objective on a small, fast net.

`config.texture()` (configs/texture.py) with 256 channels and 60 iterations, so the
built-in example runs in well under a minute on 2 CPU cores.

  python scripts/texture.py
  python scripts/texture.py --style=rain.wav --duration_s=10
"""

from jaxstyle import config


def get_config():
  c = config.texture()
  c.net.channels = 256
  c.iterations = 60
  c.log_every = 10
  return c
