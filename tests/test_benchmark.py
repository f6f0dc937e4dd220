"""The benchmark's work count against XLA's own, and its Griffin-Lim comparison."""

import sys

import jax
import numpy as np
import pytest

from jaxstyle import benchmark
from jaxstyle import config
from jaxstyle import examples
from jaxstyle import losses
from jaxstyle import nets


@pytest.mark.parametrize("setting", [
    benchmark.Setting("freq", 16, 256, kernel_size=5),  # style loss through Grams
    benchmark.Setting("freq", 128, 256, kernel_size=3),  # through position products
    benchmark.Setting("2d", 8, 256, kernel_size=3),
])
def test_forward_work_matches_xla_cost_analysis(setting):
  c = config.base()
  c.net.orientation, c.net.channels = setting.orientation, setting.channels
  c.net.kernel_size, c.net.stacks = setting.kernel_size, 2
  n_frames, n_freq = 40, 33
  net = config.net_spec(c).module()
  v = nets.random_variables(config.net_spec(c), n_frames, n_freq)
  x = nets.net_input(np.ones((1, n_frames, n_freq), np.float32), setting.orientation)

  targets = {k: losses.style_target(f) for k, f in net.apply(v, x, until="relu2").items()}

  def forward(x, targets):
    feats = net.apply(v, x, until="relu2")
    return sum(losses.style_loss(feats[k], targets[k]) for k in setting.style)

  xla = jax.jit(forward).lower(x, targets).compile().cost_analysis()["flops"]
  ours = benchmark.work_flop(setting, n_frames, n_freq)
  expected = ours["conv_forward"] + ours["style_forward"]
  # XLA also counts bias adds, batchnorm, ReLU and pooling: a few percent more.
  assert expected <= xla <= 1.15 * expected


def test_griffin_lim_comparison_reports_both_sides():
  out = benchmark.griffin_lim_comparison(examples.tones(duration_s=1.0), n_iter=10, evals=1)
  for side in ("jax", "jax_spsi", "librosa"):
    assert 0 < out[side]["spectral_convergence"] < 1 and out[side]["seconds"] > 0
  assert out["init"]["spsi"]["0"] < out["init"]["random"]["0"]


def test_child_result_reports_the_childs_own_peak_memory():
  ballast = np.ones(125_000_000)  # 1 GB resident here; a child's ru_maxrss would start at it
  code = "import time, numpy as np; a = np.ones({}); time.sleep(0.5); print('RESULT {{}}')"
  small = benchmark.child_result([sys.executable, "-c", code.format(1)])
  big = benchmark.child_result([sys.executable, "-c", code.format(50_000_000)])  # 400 MB
  assert small["peak_rss_mb"] < 200 and 400 <= big["peak_rss_mb"] < 600
  assert benchmark.child_result([sys.executable, "-c", "raise SystemExit(3)"]) is None
  del ballast
