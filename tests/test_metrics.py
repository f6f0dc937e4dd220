"""Tests of jaxstyle.metrics on deterministic procedural textures."""

import functools
import json

import librosa
import numpy as np
import pytest
import scipy.signal

from jaxstyle import metrics

SAMPLE_RATE_HZ = 22050
N_FFT = 1024
HOP_LENGTH = 256


def _normalise(audio, rms=0.1):
  return (rms * audio / np.sqrt(np.mean(audio**2))).astype(np.float32)


def crackle(seed, duration_s=2.5):
  """Decaying band-pass noise bursts at random times over low-passed noise."""
  rng = np.random.default_rng(seed)
  n = int(duration_s * SAMPLE_RATE_HZ)
  low_pass = scipy.signal.butter(4, 2000, fs=SAMPLE_RATE_HZ, output="sos")
  background = 0.05 * scipy.signal.sosfilt(low_pass, rng.standard_normal(n))
  bursts = np.zeros(n)
  burst_length = int(0.1 * SAMPLE_RATE_HZ)
  decay = np.exp(-np.arange(burst_length) / (0.02 * SAMPLE_RATE_HZ))
  for start in rng.integers(0, n - burst_length, size=int(8 * duration_s)):
    bursts[start : start + burst_length] += decay * rng.standard_normal(burst_length)
  band_pass = scipy.signal.butter(2, [800, 5000], btype="band", fs=SAMPLE_RATE_HZ, output="sos")
  return _normalise(background + scipy.signal.sosfilt(band_pass, bursts))


def chord(seed, duration_s=2.5):
  """Four steady sine tones with slow amplitude modulation."""
  rng = np.random.default_rng(seed)
  time_s = np.arange(int(duration_s * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
  audio = sum(
      np.sin(2 * np.pi * f * time_s + rng.uniform(0, 2 * np.pi))
      * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * time_s))
      for f in rng.uniform(200, 2000, size=4)
  )
  return _normalise(audio)


def add_noise(audio, snr_db, seed=99):
  noise = np.random.default_rng(seed).standard_normal(audio.size)
  scale = np.sqrt(np.mean(audio.astype(np.float64) ** 2)) / 10 ** (snr_db / 20)
  return (audio + scale * noise).astype(np.float32)


def texture_total(reference, candidate):
  distances = metrics.texture_stats_distance(reference, candidate, sample_rate=SAMPLE_RATE_HZ)
  return distances["total"]


def gram(reference, candidate):
  return metrics.gram_distance(reference, candidate, sample_rate=SAMPLE_RATE_HZ)


def log_mel(reference, candidate):
  return metrics.log_mel_distance(reference, candidate, sample_rate=SAMPLE_RATE_HZ)


DISTANCES = [texture_total, gram, log_mel]


@pytest.fixture(scope="module")
def reference():
  return crackle(seed=0)


@pytest.mark.parametrize("distance", DISTANCES)
def test_identical_signals_have_zero_distance(distance, reference):
  assert distance(reference, reference.copy()) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("distance", DISTANCES)
def test_distance_grows_with_added_noise(distance, reference):
  values = [distance(reference, add_noise(reference, snr_db)) for snr_db in (20, 10, 0)]
  assert 0 < values[0] < values[1] < values[2]


@pytest.mark.parametrize("distance", DISTANCES)
def test_other_texture_is_farther_than_other_realisation(distance, reference):
  other_seed = crackle(seed=1)
  shorter_other_seed = crackle(seed=2, duration_s=1.5)
  other_texture = chord(seed=0)
  assert distance(reference, other_seed) < distance(reference, other_texture)
  assert distance(reference, shorter_other_seed) < distance(reference, other_texture)


def test_texture_stats_groups_are_bounded_and_total_is_weighted_mean(reference):
  other_texture = chord(seed=0)
  distances = metrics.texture_stats_distance(
      reference, other_texture, sample_rate=SAMPLE_RATE_HZ
  )
  groups = ["mean", "cv", "skew", "kurtosis", "correlation", "modulation"]
  assert sorted(distances) == sorted(groups + ["total"])
  assert all(0 < distances[g] <= 1 for g in groups)
  assert distances["total"] == pytest.approx(np.mean([distances[g] for g in groups]))
  only_mean = metrics.texture_stats_distance(
      reference,
      other_texture,
      sample_rate=SAMPLE_RATE_HZ,
      weights={g: 0.0 for g in groups[1:]},
  )
  assert only_mean["total"] == pytest.approx(distances["mean"])


def _whole_signal_correlation(reference, candidate):
  products = scipy.signal.correlate(reference, candidate, mode="full", method="fft")
  return np.max(np.abs(products)) / (np.linalg.norm(reference) * np.linalg.norm(candidate))


def test_copy_fraction_flags_partial_shifted_copy(reference):
  sr = SAMPLE_RATE_HZ
  copied = 0.5 * reference[int(0.9 * sr) : int(2.4 * sr)]  # 1.5 s, quieter
  before, after = crackle(seed=5)[: int(0.6 * sr)], crackle(seed=6)[: int(0.9 * sr)]
  candidate = np.concatenate([before, copied, after])
  result = metrics.copy_fraction(reference, candidate, sample_rate=sr)
  copied_share = copied.size / candidate.size
  segments = candidate.size // int(0.25 * sr)
  assert result["segments"] == segments
  # Only segments straddling the copy's two ends may be missed.
  assert copied_share - 2 / segments <= result["fraction"] <= copied_share + 1e-9
  assert result["max_correlation"] == pytest.approx(1.0, abs=1e-6)
  assert _whole_signal_correlation(reference, candidate) < 0.9


def test_copy_fraction_ignores_independent_realisation(reference):
  result = metrics.copy_fraction(reference, crackle(seed=1), sample_rate=SAMPLE_RATE_HZ)
  assert result["segments"] == 10
  assert result["fraction"] == 0.0
  assert result["max_correlation"] < 0.5


def test_reference_fraction_tells_steady_tones_from_noise(reference):
  w = 2 * np.pi * 441 * np.arange(int(2.5 * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
  tone = lambda phase: np.sin(w + phase) + 0.5 * np.sin(2 * (w + phase))  # noqa: E731
  steady = metrics.copy_fraction(tone(0.0), tone(1.0), sample_rate=SAMPLE_RATE_HZ)
  # Another steady tone matches (the caveat), and the reference says it cannot tell.
  assert steady["fraction"] == 1.0 and steady["reference_fraction"] == 1.0
  noisy = metrics.copy_fraction(reference, crackle(seed=1), sample_rate=SAMPLE_RATE_HZ)
  assert noisy["reference_fraction"] == 0.0


def test_copy_fraction_skips_silent_segments(reference):
  sr = SAMPLE_RATE_HZ
  candidate = np.concatenate([np.zeros(sr), reference[int(0.3 * sr) : int(1.3 * sr)]])
  result = metrics.copy_fraction(reference, candidate, sample_rate=sr)
  assert result["segments"] == 4
  assert result["fraction"] == 1.0


def test_spectral_convergence_is_zero_for_own_magnitude_and_grows_with_noise(reference):
  magnitude = np.abs(librosa.stft(reference, n_fft=N_FFT, hop_length=HOP_LENGTH)).T

  def convergence(audio):
    return metrics.spectral_convergence(magnitude, audio, n_fft=N_FFT, hop_length=HOP_LENGTH)

  assert convergence(reference) == pytest.approx(0.0, abs=1e-6)
  values = [convergence(add_noise(reference, snr_db)) for snr_db in (20, 10, 0)]
  assert 0 < values[0] < values[1] < values[2]
  # A shorter estimate is compared on the common frames only.
  assert convergence(reference[: reference.size // 2]) < values[0]
  with pytest.raises(ValueError, match="time-major"):
    metrics.spectral_convergence(magnitude.T, reference, n_fft=N_FFT, hop_length=HOP_LENGTH)


def test_onset_correlation_high_for_same_and_lower_for_reversed(reference):
  def correlation(candidate):
    return metrics.onset_correlation(reference, candidate, sample_rate=SAMPLE_RATE_HZ)

  same = correlation(add_noise(reference, snr_db=40))
  reversed_ = correlation(reference[::-1].copy())
  assert same > 0.8
  assert reversed_ < same - 0.3


def test_evaluate_reports_all_metrics_as_json(reference):
  sr = SAMPLE_RATE_HZ
  other_clip = crackle(seed=3, duration_s=2.0)
  # Half copied from the second style clip, half new material.
  copied = other_clip[int(0.5 * sr) : int(1.5 * sr)]
  candidate = np.concatenate([copied, crackle(seed=4, duration_s=1.0)])
  magnitude = np.abs(librosa.stft(candidate, n_fft=N_FFT, hop_length=HOP_LENGTH)).T
  results = metrics.evaluate(
      candidate,
      sample_rate=sr,
      style=[reference, other_clip],
      content=reference,
      magnitude=magnitude,
  )
  assert json.loads(json.dumps(results)) == results
  assert set(results) == {"style", "content", "spectral_convergence"}
  assert set(results["style"]) == {"texture_stats", "gram", "log_mel_db", "copy"}
  assert set(results["content"]) == {"onset_correlation", "log_mel_db"}
  assert results["style"]["copy"]["fraction"] == pytest.approx(0.5)
  assert results["spectral_convergence"] == pytest.approx(0.0, abs=1e-6)

  only_first = metrics.evaluate(candidate, sample_rate=sr, style=reference)
  assert set(only_first) == {"style"}
  assert only_first["style"]["copy"]["fraction"] == 0.0


def test_dropouts_of_steady_noise_and_of_gated_gaps():
  sr = SAMPLE_RATE_HZ
  noise = np.random.default_rng(0).standard_normal(4 * sr)
  steady = metrics.dropouts(noise, sample_rate=sr)
  assert steady["share"] == 0 and -3 < steady["deepest_db"] < 0
  # The frame grid: frames of 32 ms hopped by half, compared away from the ends.
  frame = round(0.032 * sr)
  hop = frame // 2
  compared = 1 + (noise.size - frame) // hop - 2 * round(0.5 * sr / hop)
  gated = noise.copy()
  for start in hop * np.array([40, 80, 120, 160, 200]):  # 5 gaps of one frame, 40 dB down
    gated[start:start + frame] *= 10 ** (-40 / 20)
  dips = metrics.dropouts(gated, sample_rate=sr)
  # One frame per gap; the frames half in a gap are only 3 dB down.
  assert dips["share"] == pytest.approx(5 / compared)
  assert dips["deepest_db"] == pytest.approx(-40, abs=1)
  assert metrics.dropouts(gated, sample_rate=sr) == dips
  assert metrics.dropouts(0.01 * gated, sample_rate=sr) == pytest.approx(dips)  # level free
  assert metrics.dropouts(gated, sample_rate=sr, depth_db=50)["share"] == 0
  with pytest.raises(ValueError, match="two contexts"):
    metrics.dropouts(noise[:int(1.9 * sr)], sample_rate=sr)


TOO_SHORT = np.zeros(100, dtype=np.float32) + 0.1
BAD_INPUTS = {  # name: (candidate, expected message)
    "empty": (np.zeros(0, dtype=np.float32), "non-empty mono"),
    "too short": (TOO_SHORT, "fewer than"),
    "two-dimensional": (np.full((2, 3 * SAMPLE_RATE_HZ), 0.1, dtype=np.float32), "non-empty mono"),
    "not finite": (np.full(3 * SAMPLE_RATE_HZ, np.nan, dtype=np.float32), "NaN"),
}
RATE = {"sample_rate": SAMPLE_RATE_HZ}
CALLS = {
    "texture_stats_distance": functools.partial(metrics.texture_stats_distance, **RATE),
    "gram_distance": functools.partial(metrics.gram_distance, **RATE),
    "log_mel_distance": functools.partial(metrics.log_mel_distance, **RATE),
    "copy_fraction": functools.partial(metrics.copy_fraction, **RATE),
    "onset_correlation": functools.partial(metrics.onset_correlation, **RATE),
    "spectral_convergence": lambda ref, x: metrics.spectral_convergence(
        np.ones((10, N_FFT // 2 + 1)), x, n_fft=N_FFT, hop_length=HOP_LENGTH
    ),
    "evaluate": lambda ref, x: metrics.evaluate(x, sample_rate=SAMPLE_RATE_HZ, style=ref),
    "dropouts": lambda ref, x: metrics.dropouts(x, **RATE),
}


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=str)
@pytest.mark.parametrize("call", CALLS, ids=str)
def test_bad_input_raises_value_error(call, bad, reference):
  candidate, message = BAD_INPUTS[bad]
  with pytest.raises(ValueError, match=message):
    CALLS[call](reference, candidate)


def test_too_short_reference_raises_value_error():
  with pytest.raises(ValueError, match="fewer than"):
    metrics.copy_fraction(TOO_SHORT, crackle(seed=1), sample_rate=SAMPLE_RATE_HZ)
  with pytest.raises(ValueError, match="fewer than"):
    metrics.gram_distance(TOO_SHORT, crackle(seed=1), sample_rate=SAMPLE_RATE_HZ)


def test_evaluate_needs_something_to_compare(reference):
  with pytest.raises(ValueError, match="at least one of"):
    metrics.evaluate(reference, sample_rate=SAMPLE_RATE_HZ)
