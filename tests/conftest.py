"""Shared fixtures: a tiny config and short procedural clips; `-n auto`'s worker count."""

import os

import numpy as np
import pytest

from jaxstyle import config
from jaxstyle import examples
from jaxstyle import spectral

SR = 22050


def pytest_xdist_auto_num_workers(config):
  """A worker per core, at most 4: each holds a JAX runtime (up to 2.5 GB resident), and
  XLA's own threads take what cores are left."""
  return min(len(os.sched_getaffinity(0)), 4)


@pytest.fixture
def tiny():
  """A small, fast config: 2 stacks of 32 channels, n_fft 256, 30 iterations."""
  c = config.base()
  c.n_fft, c.hop_length = 256, 64
  c.net.channels, c.net.kernel_size = 32, 5
  c.iterations, c.log_every = 30, 10
  c.phase_iterations = 10
  return c


def spec_of(y: np.ndarray, c) -> np.ndarray:
  return np.asarray(spectral.spectrogram(y, n_fft=c.n_fft, hop_length=c.hop_length,
                                         log_max=c.log_max))


@pytest.fixture
def texture_clip():
  return examples.birds_and_rain(duration_s=1.0, sample_rate=SR, seed=1)


@pytest.fixture
def tone_clip():
  return examples.tones(duration_s=1.0, sample_rate=SR, seed=2)
