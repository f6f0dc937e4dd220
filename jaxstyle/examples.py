"""Deterministic procedural sounds: the built-in example and test signals.

Each returns mono float32 `[samples]` with peak 0.9, the same for the same seed.
"""

import numpy as np


def _normalize(y: np.ndarray) -> np.ndarray:
  return (0.9 * y / np.max(np.abs(y))).astype(np.float32)


def _envelope(n: int, attack: int) -> np.ndarray:
  """Linear attack over `attack` samples, then an exponential decay to ~1e-3."""
  env = np.exp(-6.9 * np.arange(n) / n)
  env[:attack] *= np.linspace(0.0, 1.0, attack)
  return env


def birds_and_rain(*, seconds: float = 5.0, sample_rate: int = 22050, seed: int = 0) -> np.ndarray:
  """Rain-like coloured noise, random bird chirps (rising sweeps) and water drops."""
  rng = np.random.default_rng(seed)
  n = int(seconds * sample_rate)
  # Rain: white noise, gently low-passed and amplitude-modulated.
  rain = np.convolve(rng.standard_normal(n), np.ones(4) / 4, mode="same")
  rain *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.3 * np.arange(n) / sample_rate)
  y = 0.15 * rain
  # Chirps: 60-160 ms sweeps from ~2-3 kHz up by 30-80%, about 4 per second.
  for _ in range(int(4 * seconds)):
    m = int(rng.uniform(0.06, 0.16) * sample_rate)
    start = rng.integers(0, n - m)
    f0 = rng.uniform(2000, 3000)
    f = f0 * (1 + rng.uniform(0.3, 0.8) * np.linspace(0, 1, m) ** 2)
    phase = 2 * np.pi * np.cumsum(f) / sample_rate
    y[start:start + m] += rng.uniform(0.3, 0.8) * np.sin(phase) * np.hanning(m)
  # Drops: short decaying tones at 300-900 Hz, about 3 per second.
  for _ in range(int(3 * seconds)):
    m = int(0.12 * sample_rate)
    start = rng.integers(0, n - m)
    t = np.arange(m) / sample_rate
    y[start:start + m] += rng.uniform(0.2, 0.5) * np.sin(
        2 * np.pi * rng.uniform(300, 900) * t) * _envelope(m, 40)
  return _normalize(y)


def tones(*, seconds: float = 2.0, sample_rate: int = 22050, seed: int = 0,
          notes_per_second: float = 4.0) -> np.ndarray:
  """A melody of harmonic notes (4 partials, random pitches 110-880 Hz) with decay."""
  rng = np.random.default_rng(seed)
  n = int(seconds * sample_rate)
  y = np.zeros(n)
  m = int(sample_rate / notes_per_second)
  t = np.arange(m) / sample_rate
  for start in range(0, n - m + 1, m):
    f0 = 110 * 2 ** rng.uniform(0, 3)
    note = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 5))
    y[start:start + m] += note * _envelope(m, 100)
  return _normalize(y)
