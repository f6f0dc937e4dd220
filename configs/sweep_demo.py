"""A demo sweep: 2 style weights x 2 kernel widths x 2 seeds = 8 points, in about a minute.

A tiny network on 1 s of the built-in example sound, 20 iterations; the 4 points of
each kernel width run as one program over the local devices.

  python scripts/sweep.py --config=configs/sweep_demo.py --output_dir=out/sweep_demo
  XLA_FLAGS=--xla_force_host_platform_device_count=4 \
      python scripts/sweep.py --config=configs/sweep_demo.py --output_dir=out/sweep_demo
  python scripts/sweep.py --config=configs/sweep_demo.py --output_dir=out/sweep_demo --resume
"""

import ml_collections

from jaxstyle import grid


def get_config():
  sc = grid.base()
  c = sc.config
  c.n_fft, c.hop_length = 512, 128
  c.net.channels = 64
  c.iterations, c.log_every = 20, 10
  c.phase_iterations = 20
  sc.duration_s = 1.0
  sc.grid = ml_collections.ConfigDict(
      {"style_weight": (1e8, 1e9), "net": {"kernel_size": (5, 11)}, "seed": (0, 1)})
  return sc
