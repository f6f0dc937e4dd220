"""Deterministic procedural sounds: the built-in example and test signals.

Each returns mono float32 `[samples]` with peak 0.9, the same for the same seed.
"""

import numpy as np
import scipy.signal


def _normalize(y: np.ndarray) -> np.ndarray:
  return (0.9 * y / np.max(np.abs(y))).astype(np.float32)


def _envelope(n: int, attack: int) -> np.ndarray:
  """Linear attack over `attack` samples, then an exponential decay to ~1e-3."""
  env = np.exp(-6.9 * np.arange(n) / n)
  env[:attack] *= np.linspace(0.0, 1.0, attack)
  return env


def birds_and_rain(*, duration_s: float = 5.0, sample_rate: int = 22050,
                   seed: int = 0) -> np.ndarray:
  """Rain-like coloured noise, random bird chirps (rising sweeps) and water drops."""
  rng = np.random.default_rng(seed)
  n = int(duration_s * sample_rate)
  # Rain: white noise, gently low-passed and amplitude-modulated.
  rain = np.convolve(rng.standard_normal(n), np.ones(4) / 4, mode="same")
  rain *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.3 * np.arange(n) / sample_rate)
  y = 0.15 * rain
  # Chirps: 60-160 ms sweeps from ~2-3 kHz up by 30-80%, about 4 per second.
  for _ in range(int(4 * duration_s)):
    m = int(rng.uniform(0.06, 0.16) * sample_rate)
    start = rng.integers(0, n - m)
    f0 = rng.uniform(2000, 3000)
    f = f0 * (1 + rng.uniform(0.3, 0.8) * np.linspace(0, 1, m) ** 2)
    phase = 2 * np.pi * np.cumsum(f) / sample_rate
    y[start:start + m] += rng.uniform(0.3, 0.8) * np.sin(phase) * np.hanning(m)
  # Drops: short decaying tones at 300-900 Hz, about 3 per second.
  for _ in range(int(3 * duration_s)):
    m = int(0.12 * sample_rate)
    start = rng.integers(0, n - m)
    t = np.arange(m) / sample_rate
    y[start:start + m] += rng.uniform(0.2, 0.5) * np.sin(
        2 * np.pi * rng.uniform(300, 900) * t) * _envelope(m, 40)
  return _normalize(y)


def tones(*, duration_s: float = 2.0, sample_rate: int = 22050, seed: int = 0,
          notes_per_second: float = 4.0) -> np.ndarray:
  """A melody of harmonic notes (4 partials, random pitches 110-880 Hz) with decay."""
  rng = np.random.default_rng(seed)
  n = int(duration_s * sample_rate)
  y = np.zeros(n)
  m = int(sample_rate / notes_per_second)
  t = np.arange(m) / sample_rate
  for start in range(0, n - m + 1, m):
    f0 = 110 * 2 ** rng.uniform(0, 3)
    note = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 5))
    y[start:start + m] += note * _envelope(m, 100)
  return _normalize(y)


# Vowel formants (F1, F2, F3) in Hz of an adult male voice: a, e, i, o, u.
_VOWEL_FORMANTS_HZ = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010),
                      (570, 840, 2410), (300, 870, 2240))


def _resonate(x: np.ndarray, centre_hz: float, bandwidth_hz: float,
              sample_rate: int) -> np.ndarray:
  """Two-pole resonator at `centre_hz` applied to `x`."""
  r = np.exp(-np.pi * bandwidth_hz / sample_rate)
  a = [1.0, -2 * r * np.cos(2 * np.pi * centre_hz / sample_rate), r * r]
  return scipy.signal.lfilter([1 - r], a, x)


def babble(*, duration_s: float = 5.0, sample_rate: int = 22050, seed: int = 0) -> np.ndarray:
  """Speech-like babble: words of 1-4 syllables, each a vowel with a consonant burst.

  A syllable is a glottal pulse train (falling f0 around 100-150 Hz) through three
  formant resonators of a random vowel, under a 120-280 ms rise-and-fall envelope,
  preceded by a short band-passed noise burst; words are separated by 50-250 ms pauses.
  """
  rng = np.random.default_rng(seed)
  n = int(duration_s * sample_rate)
  y = np.zeros(n)
  start = int(rng.uniform(0.0, 0.1) * sample_rate)
  while start < n:
    for _ in range(rng.integers(1, 5)):
      burst = int(rng.uniform(0.02, 0.06) * sample_rate)
      m = int(rng.uniform(0.12, 0.28) * sample_rate)
      if start + burst + m > n:
        break
      noise = _resonate(rng.standard_normal(burst), rng.uniform(2500, 5000), 1500, sample_rate)
      y[start:start + burst] += 0.02 * noise * np.hanning(burst)
      start += burst
      f0 = rng.uniform(100, 150) * np.linspace(1.1, 0.9, m)
      cycles = np.cumsum(f0) / sample_rate
      pulses = np.diff(np.floor(cycles), prepend=0.0)  # one impulse per glottal cycle
      vowel = sum(_resonate(pulses, f, 60 + 0.05 * f, sample_rate) / k
                  for k, f in enumerate(_VOWEL_FORMANTS_HZ[rng.integers(5)], start=1))
      y[start:start + m] += vowel * np.sin(np.pi * np.arange(m) / m) ** 0.5
      start += m
    start += int(rng.uniform(0.05, 0.25) * sample_rate)
  return _normalize(y)


def piano(*, duration_s: float = 5.0, sample_rate: int = 22050, seed: int = 0) -> np.ndarray:
  """Piano-like notes: a melody of 3 notes per second over a bass note every 4.

  Each note has 12 slightly inharmonic partials (`f_k = k f0 sqrt(1 + B k^2)`, B 3e-4)
  with a 5 ms attack, a decay that is faster for higher partials, and a hammer click;
  pitches are from the C major scale: melody C4-B5 (262-988 Hz), bass C3-B3.
  """
  rng = np.random.default_rng(seed)
  n = int(duration_s * sample_rate)
  y = np.zeros(n + 2 * sample_rate)
  scale = np.array([0, 2, 4, 5, 7, 9, 11])
  m = 2 * sample_rate  # Each note rings for 2 s.
  t = np.arange(m) / sample_rate
  k = np.arange(1, 13)[:, None]
  for i, start in enumerate(range(0, n, int(sample_rate / 3))):
    notes = [rng.choice(scale) + 12 * rng.integers(1, 3)]
    if i % 4 == 0:
      notes.append(rng.choice(scale))
    for semitones in notes:
      f0 = 130.81 * 2 ** (semitones / 12)
      partials = k * f0 * np.sqrt(1 + 3e-4 * k**2)
      decay_s = 1.5 / (1 + 0.4 * (k - 1)) * (262 / f0) ** 0.5
      note = np.sum(np.where(partials < sample_rate / 2, np.sin(2 * np.pi * partials * t)
                             * np.exp(-t / decay_s) / k, 0.0), axis=0)
      note[: int(0.005 * sample_rate)] *= np.linspace(0, 1, int(0.005 * sample_rate))
      click = int(0.003 * sample_rate)
      note[:click] += 0.3 * rng.standard_normal(click)
      y[start:start + m] += rng.uniform(0.6, 1.0) * note
  return _normalize(y[:n])


def rooster(*, duration_s: float = 5.0, sample_rate: int = 22050, seed: int = 0) -> np.ndarray:
  """Rooster-like crows over faint farmyard noise, about one every 2.5 s.

  A crow is 4 harmonic syllables (f0 450-700 Hz, rising then falling, rough with 30 Hz
  amplitude modulation, partials weighted towards 1-3 kHz); the last is the longest.
  """
  rng = np.random.default_rng(seed)
  n = int(duration_s * sample_rate)
  y = 0.02 * np.convolve(rng.standard_normal(n), np.ones(8) / 8, mode="same")
  start = int(rng.uniform(0.0, 0.3) * sample_rate)
  while start < n:
    for duration_s in (0.12, 0.15, 0.2, rng.uniform(0.5, 0.8)):
      m = int(duration_s * sample_rate)
      if start + m > n:
        break
      t = np.arange(m) / sample_rate
      arc = np.sin(np.pi * np.arange(m) / m)
      f0 = rng.uniform(450, 550) * (1 + 0.3 * arc)
      phase = 2 * np.pi * np.cumsum(f0) / sample_rate
      k = np.arange(1, 11)[:, None]
      weights = np.exp(-((np.log2(k * 550 / 1800)) ** 2))
      call = np.sum(weights * np.sin(k * phase) * (k * f0 < sample_rate / 2), axis=0)
      call *= (1 + 0.5 * np.sin(2 * np.pi * 30 * t)) * arc ** 0.3
      y[start:start + m] += call
      start += m + int(0.04 * sample_rate)
    start += int(rng.uniform(1.2, 2.0) * sample_rate)
  return _normalize(y)
