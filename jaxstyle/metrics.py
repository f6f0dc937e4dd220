"""Objective quality metrics of a synthesized sound against reference clips.

Evaluation code only: plain numpy / scipy / librosa, never differentiated.
All waveforms are mono float arrays `[samples]` at `sample_rate`;
spectrogram magnitudes are time-major `[time, freq]`. Every function returns
Python floats (or dicts of them), so results can be written as JSON. Empty,
too short, multi-channel or non-finite input raises `InputError` (a
`ValueError`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import fractions

import librosa
import numpy as np
import scipy.fft
import scipy.signal

from jaxstyle.errors import InputError

_EPS = 1e-12
# Fewest envelope samples for which moments and modulation spectra are defined.
_MIN_ENVELOPE_SAMPLES = 32
_TEXTURE_GROUPS = ("mean", "cv", "skew", "kurtosis", "correlation", "modulation")


def _waveform(audio: np.ndarray, name: str, min_samples: int, what: str) -> np.ndarray:
  """Checks a mono waveform `[samples]`; returns it as float64."""
  audio = np.asarray(audio, dtype=np.float64)
  if audio.ndim != 1 or audio.size == 0:
    raise InputError(f"{name} must be a non-empty mono waveform [samples], got shape {audio.shape}")
  if audio.size < min_samples:
    raise InputError(f"{name} has {audio.size} samples, fewer than {what} ({min_samples} samples)")
  if not np.all(np.isfinite(audio)):
    raise InputError(f"{name} contains NaN or infinite samples")
  return audio


def _check_rate(sample_rate: float) -> None:
  if not sample_rate > 0:
    raise InputError(f"sample_rate must be positive, got {sample_rate}")


def _relative_difference(reference: np.ndarray, candidate: np.ndarray) -> float:
  """||r - c|| / (||r|| + ||c||): 0 for equal statistics, at most 1."""
  difference = np.linalg.norm(reference - candidate)
  return float(difference / (np.linalg.norm(reference) + np.linalg.norm(candidate) + _EPS))


def hz_to_erb_number(frequency_hz: np.ndarray) -> np.ndarray:
  """Glasberg & Moore ERB-number (Cams) of frequencies in Hz."""
  return 21.4 * np.log10(1.0 + 0.00437 * frequency_hz)


def erb_number_to_hz(erb_number: np.ndarray) -> np.ndarray:
  """Inverse of `hz_to_erb_number`."""
  return (10.0 ** (erb_number / 21.4) - 1.0) / 0.00437


def erb_filter(frequency_hz: np.ndarray, centre_hz: float, spacing_erb: float) -> np.ndarray:
  """Half-cosine band-pass gain, on the ERB-number axis, over `frequency_hz`.

  The filter is centred on `centre_hz` and reaches zero `spacing_erb` ERB
  numbers away on each side, so filters spaced `spacing_erb` apart overlap
  by half.
  """
  offset = (hz_to_erb_number(frequency_hz) - hz_to_erb_number(centre_hz)) / spacing_erb
  return np.where(np.abs(offset) < 1.0, np.cos(0.5 * np.pi * offset), 0.0)


def erb_centres(*, n_bands: int, low_hz: float, high_hz: float) -> tuple[np.ndarray, float]:
  """`n_bands` centre frequencies (Hz) evenly spaced in ERB number from `low_hz` to
  `high_hz`, and their spacing in ERB numbers."""
  low_erb, high_erb = hz_to_erb_number(low_hz), hz_to_erb_number(high_hz)
  return erb_number_to_hz(np.linspace(low_erb, high_erb, n_bands)), (high_erb - low_erb) / (
      n_bands - 1)


def erb_filterbank(frequency_hz: np.ndarray, *, n_bands: int, low_hz: float,
                   high_hz: float) -> np.ndarray:
  """`[n_bands, freq]` amplitude gains of `erb_filter`s at `erb_centres` over `frequency_hz`."""
  centres_hz, spacing_erb = erb_centres(n_bands=n_bands, low_hz=low_hz, high_hz=high_hz)
  return np.stack([erb_filter(frequency_hz, f, spacing_erb) for f in centres_hz])


def _checked_band_range(sample_rate: float, n_bands: int, low_hz: float,
                        high_hz: float | None) -> float:
  """Checks a filterbank's range; returns `high_hz`, by default 0.45 of the sample rate."""
  _check_rate(sample_rate)
  high_hz = 0.45 * sample_rate if high_hz is None else high_hz
  if not 0 < low_hz < high_hz < sample_rate / 2:
    raise InputError(f"need 0 < low_hz < high_hz < Nyquist, got {low_hz}, {high_hz}")
  if n_bands < 2:
    raise InputError(f"n_bands must be at least 2, got {n_bands}")
  return high_hz


def subband_envelopes(
    audio: np.ndarray,
    sample_rate: int,
    *,
    n_bands: int,
    low_hz: float,
    high_hz: float,
    envelope_rate_hz: int,
    compression: float,
) -> tuple[np.ndarray, float]:
  """Compressed, downsampled Hilbert envelopes of ERB-spaced subbands.

  The `n_bands` centre frequencies are evenly spaced on the ERB-number scale
  from `low_hz` to `high_hz`; filtering is done in the FFT domain.

  Args:
    audio: waveform `[samples]`.
    sample_rate: integer sample rate of `audio`.
    n_bands: number of subbands (at least 2).
    low_hz, high_hz: centre frequencies of the lowest and highest subbands.
    envelope_rate_hz: target envelope sample rate (integer Hz).
    compression: exponent applied to the envelopes (0.3 as in the paper).

  Returns:
    Envelopes `[n_bands, frames]` and their exact sample rate in Hz.
  """
  n_fft = scipy.fft.next_fast_len(audio.size)
  frequency_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
  spectrum = np.fft.rfft(audio, n_fft)
  ratio = fractions.Fraction(int(envelope_rate_hz), int(sample_rate))
  # Doubling the positive frequencies and zeroing the negative ones gives the analytic signal.
  analytic_spectrum = np.zeros(n_fft, dtype=np.complex128)
  envelopes = []
  for gain in erb_filterbank(frequency_hz, n_bands=n_bands, low_hz=low_hz, high_hz=high_hz):
    analytic_spectrum[: frequency_hz.size] = 2.0 * gain * spectrum
    envelope = np.abs(np.fft.ifft(analytic_spectrum)[: audio.size]) ** compression
    envelopes.append(scipy.signal.resample_poly(envelope, ratio.numerator, ratio.denominator))
  return np.stack(envelopes), float(sample_rate * ratio)


def texture_statistics(
    envelopes: np.ndarray,
    envelope_rate_hz: float,
    *,
    n_modulation_bands: int,
    lowest_modulation_hz: float,
) -> dict[str, np.ndarray]:
  """Time-averaged texture statistics of subband envelopes `[bands, frames]`.

  Returns:
    "mean", "cv" (std / mean), "skew", "kurtosis" (raw, 3 for Gaussian):
    `[bands]`; "correlation": Pearson correlations of all band pairs
    `[bands * (bands - 1) / 2]`; "modulation": share of each band's envelope
    variance in octave bands [f, 2f) from `lowest_modulation_hz` up,
    `[bands, n_modulation_bands]`.
  """
  mean = envelopes.mean(axis=-1)
  centred = envelopes - mean[:, None]
  variance = np.mean(centred**2, axis=-1)
  std = np.sqrt(variance)
  standardised = centred / (std[:, None] + _EPS)
  band_pairs = np.triu_indices(envelopes.shape[0], k=1)
  power = np.abs(np.fft.rfft(centred, axis=-1)) ** 2
  modulation_hz = np.fft.rfftfreq(envelopes.shape[-1], 1.0 / envelope_rate_hz)
  edges_hz = lowest_modulation_hz * 2.0 ** np.arange(n_modulation_bands + 1)
  in_band = (edges_hz[:-1, None] <= modulation_hz) & (modulation_hz < edges_hz[1:, None])
  return {
      "mean": mean,
      "cv": std / (mean + _EPS),
      "skew": np.mean(centred**3, axis=-1) / (variance**1.5 + _EPS),
      "kurtosis": np.mean(centred**4, axis=-1) / (variance**2 + _EPS),
      "correlation": (standardised @ standardised.T / envelopes.shape[-1])[band_pairs],
      "modulation": power @ in_band.T / (power[:, 1:].sum(axis=-1, keepdims=True) + _EPS),
  }


def texture_stats_distance(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    sample_rate: int,
    n_bands: int = 32,
    low_hz: float = 50.0,
    high_hz: float | None = None,
    envelope_rate_hz: int = 400,
    compression: float = 0.3,
    n_modulation_bands: int = 7,
    lowest_modulation_hz: float = 0.5,
    weights: Mapping[str, float] | None = None,
) -> dict[str, float]:
  """Texture-statistics distance in the spirit of McDermott & Simoncelli (2011).

  Both sounds are split into `n_bands` ERB-spaced subbands (FFT domain), whose
  Hilbert envelopes are compressed (`** compression`) and downsampled to
  about `envelope_rate_hz`. Per group of statistics (see `texture_statistics`)
  the distance is ||s_ref - s_cand|| / (||s_ref|| + ||s_cand||), which lies in
  [0, 1] whatever the group's units; "total" is the weighted mean of the
  groups. Statistics are time averages, so the lengths may differ. Not
  invariant to level: the "mean" group compares absolute envelope levels.

  Args:
    reference, candidate: waveforms `[samples]`, at least 32 envelope samples long.
    sample_rate: integer sample rate of both.
    n_bands: number of subbands (at least 2).
    low_hz, high_hz: centre frequencies of the lowest and highest subbands;
      `high_hz` defaults to 0.9 * Nyquist.
    envelope_rate_hz: envelope sample rate in Hz (integer).
    compression: envelope compression exponent.
    n_modulation_bands: octave modulation bands [f, 2f) starting at
      `lowest_modulation_hz` (defaults: 0.5-1, ..., 32-64 Hz).
    weights: optional weight per group name; missing groups weigh 1.

  Returns:
    {"total", "mean", "cv", "skew", "kurtosis", "correlation", "modulation"}:
    dimensionless distances in [0, 1].
  """
  high_hz = _checked_band_range(sample_rate, n_bands, low_hz, high_hz)
  min_samples = int(np.ceil(_MIN_ENVELOPE_SAMPLES * sample_rate / envelope_rate_hz))
  what = f"{_MIN_ENVELOPE_SAMPLES} envelope samples"
  reference = _waveform(reference, "reference", min_samples, what)
  candidate = _waveform(candidate, "candidate", min_samples, what)

  def statistics(audio):
    envelopes, rate_hz = subband_envelopes(
        audio,
        sample_rate,
        n_bands=n_bands,
        low_hz=low_hz,
        high_hz=high_hz,
        envelope_rate_hz=envelope_rate_hz,
        compression=compression,
    )
    return texture_statistics(
        envelopes,
        rate_hz,
        n_modulation_bands=n_modulation_bands,
        lowest_modulation_hz=lowest_modulation_hz,
    )

  reference_stats, candidate_stats = statistics(reference), statistics(candidate)
  distances = {
      g: _relative_difference(reference_stats[g], candidate_stats[g]) for g in _TEXTURE_GROUPS
  }
  group_weights = {g: (weights or {}).get(g, 1.0) for g in _TEXTURE_GROUPS}
  total = sum(group_weights[g] * distances[g] for g in _TEXTURE_GROUPS)
  total /= sum(group_weights.values())
  return {"total": float(total), **distances}


def erb_spectrum_distance(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    sample_rate: int,
    n_bands: int = 32,
    low_hz: float = 50.0,
    high_hz: float | None = None,
    floor_db: float = -100.0,
) -> float:
  """Mean absolute difference in dB of the long-term power in ERB bands.

  Weighs quiet bands as the ear does: a band 40 dB too loud counts 40 dB whatever
  its share of the power (the `mean` group of `texture_stats_distance` compares
  compressed envelope levels, where such a band barely moves the norm). Each band
  is the half-cosine ERB filter of `subband_envelopes` over the whole signal's
  power spectrum; levels below `floor_db` under the louder sound's loudest band are
  raised to it. Not level invariant: scale the signals first if that is wanted.

  Args:
    reference, candidate: waveforms `[samples]`, any lengths of at least 64 samples.
    sample_rate: sample rate of both.
    n_bands, low_hz, high_hz: the ERB filterbank, as `texture_stats_distance`.
    floor_db: the floor, in dB relative to the loudest band of either sound.

  Returns:
    The mean over bands of |level_ref - level_cand| in dB.
  """
  high_hz = _checked_band_range(sample_rate, n_bands, low_hz, high_hz)
  reference = _waveform(reference, "reference", 64, "64 samples")
  candidate = _waveform(candidate, "candidate", 64, "64 samples")

  def levels(audio):
    frequency_hz = np.fft.rfftfreq(audio.size, 1.0 / sample_rate)
    power = np.abs(np.fft.rfft(audio)) ** 2 / audio.size**2  # mean power, whatever the length
    gains = erb_filterbank(frequency_hz, n_bands=n_bands, low_hz=low_hz, high_hz=high_hz) ** 2
    return 10.0 * np.log10(gains @ power + _EPS**2)

  ref, cand = levels(reference), levels(candidate)
  floor = max(ref.max(), cand.max()) + floor_db
  return float(np.mean(np.abs(np.maximum(ref, floor) - np.maximum(cand, floor))))


def log_magnitude(audio: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
  """log1p of the librosa STFT magnitude (Hann, centred frames), `[time, freq]`."""
  return np.log1p(np.abs(librosa.stft(audio, n_fft=n_fft, hop_length=hop_length))).T


def random_conv_gram(features: np.ndarray, weights: np.ndarray) -> np.ndarray:
  """Gram matrix of a ReLU random 1D convolution over time.

  Args:
    features: input `[time, freq]`, frequency acting as input channels.
    weights: kernel `[kernel_size, freq, channels]`.

  Returns:
    F^T F / positions `[channels, channels]` with F the `valid` ReLU outputs.
  """
  windows = np.lib.stride_tricks.sliding_window_view(features, weights.shape[0], axis=0)
  outputs = np.maximum(np.tensordot(windows, weights, axes=([1, 2], [1, 0])), 0.0)
  return outputs.T @ outputs / outputs.shape[0]


def gram_distance(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    sample_rate: int,
    seed: int = 1234,
    kernel_sizes: Sequence[int] = (3, 7),
    channels: int = 128,
    n_fft: int = 1024,
    hop_length: int = 256,
) -> float:
  """Relative Gram-matrix distance in an independent random network.

  This is NOT the synthesis objective: synthesis draws its networks from JAX
  seeds 0, 1, ... with kernel size 11, while this network uses numpy's
  `default_rng(seed)` and other kernel sizes, so a low value is not just the
  optimised loss measured again. For each kernel size, one conv over time of
  the log1p STFT magnitude `[time, freq]` with weights uniform in
  +-1/sqrt(kernel_size * freq), ReLU, Gram = F^T F / positions.

  Args:
    reference, candidate: waveforms `[samples]` of at least `n_fft` samples
      and enough frames for the largest kernel.
    sample_rate: sample rate (checked only; the network is rate-agnostic).
    seed, kernel_sizes, channels: the random network.
    n_fft, hop_length: STFT size and hop in samples.

  Returns:
    Mean over kernel sizes of ||G_ref - G_cand||_F / ||G_ref||_F (dimensionless).
  """
  _check_rate(sample_rate)
  min_samples = max(n_fft, (max(kernel_sizes) - 1) * hop_length)
  what = f"one FFT frame and {max(kernel_sizes)} STFT frames"
  reference = log_magnitude(
      _waveform(reference, "reference", min_samples, what), n_fft=n_fft, hop_length=hop_length
  )
  candidate = log_magnitude(
      _waveform(candidate, "candidate", min_samples, what), n_fft=n_fft, hop_length=hop_length
  )
  rng = np.random.default_rng(seed)
  n_freq = reference.shape[1]
  distances = []
  for kernel_size in kernel_sizes:
    bound = 1.0 / np.sqrt(kernel_size * n_freq)
    weights = rng.uniform(-bound, bound, size=(kernel_size, n_freq, channels))
    reference_gram = random_conv_gram(reference, weights)
    reference_norm = np.linalg.norm(reference_gram)
    if reference_norm == 0:
      raise InputError("reference is silent: its Gram matrix is zero")
    candidate_gram = random_conv_gram(candidate, weights)
    distances.append(np.linalg.norm(reference_gram - candidate_gram) / reference_norm)
  return float(np.mean(distances))


def mean_log_mel(
    audio: np.ndarray, *, sample_rate: int, n_mels: int, n_fft: int, hop_length: int
) -> np.ndarray:
  """Time-averaged natural-log mel power spectrum, log(1e-6 + power), `[n_mels]`."""
  mel_power = librosa.feature.melspectrogram(
      y=audio, sr=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, power=2.0
  )
  return np.log(1e-6 + mel_power).mean(axis=-1)


def log_mel_distance(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    sample_rate: int,
    n_mels: int = 64,
    n_fft: int = 1024,
    hop_length: int = 256,
) -> float:
  """RMS difference in dB between the time-averaged log-mel spectra.

  Each spectrum is the time average of log(1e-6 + mel power) (floor -60 dB);
  the RMS over mel bands of their difference is converted from nepers of
  power to dB (x 10 / ln 10).

  Args:
    reference, candidate: waveforms `[samples]`, at least `n_fft` samples each.
    sample_rate: sample rate of both.
    n_mels, n_fft, hop_length: mel spectrogram parameters (samples).

  Returns:
    The distance in dB.
  """
  _check_rate(sample_rate)
  spectra = [
      mean_log_mel(
          _waveform(audio, name, n_fft, "one FFT frame"),
          sample_rate=sample_rate,
          n_mels=n_mels,
          n_fft=n_fft,
          hop_length=hop_length,
      )
      for audio, name in ((reference, "reference"), (candidate, "candidate"))
  ]
  return float(10.0 / np.log(10.0) * np.sqrt(np.mean((spectra[0] - spectra[1]) ** 2)))


def spectral_convergence(
    magnitude: np.ndarray, audio: np.ndarray, *, n_fft: int, hop_length: int
) -> float:
  """||abs(STFT(audio)) - magnitude||_F / ||magnitude||_F.

  The STFT is librosa's (Hann window, centred zero-padded frames), so
  `magnitude` must come from the same convention. Both are truncated to
  their common number of frames.

  Args:
    magnitude: target magnitude `[time, n_fft // 2 + 1]` (time-major).
    audio: waveform `[samples]`, at least `n_fft` samples.
    n_fft, hop_length: STFT size and hop in samples.

  Returns:
    The dimensionless spectral convergence (0 for a perfect match).
  """
  magnitude = np.asarray(magnitude, dtype=np.float64)
  if magnitude.ndim != 2 or magnitude.shape[0] == 0 or magnitude.shape[1] != n_fft // 2 + 1:
    raise InputError(
        f"magnitude must be [time, {n_fft // 2 + 1}] (time-major), got shape {magnitude.shape}"
    )
  audio = _waveform(audio, "audio", n_fft, "one FFT frame")
  estimate = np.abs(librosa.stft(audio, n_fft=n_fft, hop_length=hop_length)).T
  frames = min(estimate.shape[0], magnitude.shape[0])
  target_norm = np.linalg.norm(magnitude[:frames])
  if target_norm == 0:
    raise InputError("magnitude is all zero")
  return float(np.linalg.norm(estimate[:frames] - magnitude[:frames]) / target_norm)


def sliding_sums(audio: np.ndarray, window: int) -> np.ndarray:
  """Sums of all length-`window` windows of `audio`, `[samples - window + 1]`."""
  cumulative = np.concatenate([[0.0], np.cumsum(audio)])
  return cumulative[window:] - cumulative[:-window]


def max_normalized_correlation(
    reference: np.ndarray, segment: np.ndarray, *, min_rms: float, skip: slice = slice(0, 0)
) -> float:
  """Largest Pearson correlation of `segment` with any same-length reference window.

  FFT-based; reference windows quieter than `min_rms`, and those whose start is in
  `skip`, count as uncorrelated.
  """
  length = segment.size
  centred = segment - segment.mean()
  products = scipy.signal.correlate(reference, centred, mode="valid", method="fft")
  window_sums = sliding_sums(reference, length)
  window_variance = np.maximum(sliding_sums(reference**2, length) - window_sums**2 / length, 0.0)
  denominator = np.linalg.norm(centred) * np.sqrt(window_variance)
  valid = window_variance > length * min_rms**2
  valid[skip] = False
  correlation = np.divide(products, denominator, out=np.zeros_like(products), where=valid)
  return float(correlation.max())


def copy_fraction(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    sample_rate: int,
    segment_s: float = 0.25,
    threshold: float = 0.9,
    min_rms: float = 1e-4,
) -> dict[str, float]:
  """Share of candidate segments that are waveform copies of the reference.

  The candidate is cut into non-overlapping segments of `segment_s` (a
  trailing remainder is dropped). A segment counts as copied when its Pearson
  correlation with some equally long window of the reference, at any shift,
  reaches `threshold`; this is gain invariant and finds partial, shifted
  copies that a whole-signal correlation misses. Segments whose RMS (after
  removing the mean) is below `min_rms` are silent and skipped.

  Strongly periodic sounds (steady tones) correlate highly at some shift even
  without copying. `reference_fraction` measures that for the reference: the
  same test on its own segments against the windows that do not overlap them. It
  is near 0 for noisy references, where `fraction` means copying, and near 1 for
  steady tones, where `fraction` cannot tell copying apart.

  Args:
    reference: waveform `[samples]`, at least one segment long.
    candidate: waveform `[samples]`, at least one segment long.
    sample_rate: sample rate of both.
    segment_s: segment length in seconds.
    threshold: correlation at or above which a segment is a copy.
    min_rms: RMS below which segments (and reference windows) are silent.

  Returns:
    {"fraction": copied / non-silent segments (0 if none), "segments": number
    of non-silent segments (a float), "max_correlation": the largest
    segment correlation (0 if none), "reference_fraction": as `fraction`, for
    the reference's own segments (0 if it has fewer than two)}.
  """
  _check_rate(sample_rate)
  length = int(round(segment_s * sample_rate))
  if length < 2:
    raise InputError(f"segment_s={segment_s} is shorter than 2 samples")
  what = f"one segment of {segment_s} s"
  reference = _waveform(reference, "reference", length, what)
  candidate = _waveform(candidate, "candidate", length, what)

  def audible_segments(x):
    starts = np.arange(0, x.size - length + 1, length)
    return [s for s in starts if x[s : s + length].std() >= min_rms]

  correlations = np.array([
      max_normalized_correlation(reference, candidate[s : s + length], min_rms=min_rms)
      for s in audible_segments(candidate)])
  own = np.array([
      max_normalized_correlation(reference, reference[s : s + length], min_rms=min_rms,
                                 skip=slice(max(s - length + 1, 0), s + length))
      for s in audible_segments(reference)])
  return {
      "fraction": float(np.mean(correlations >= threshold)) if correlations.size else 0.0,
      "segments": float(correlations.size),
      "max_correlation": float(correlations.max()) if correlations.size else 0.0,
      "reference_fraction": float(np.mean(own >= threshold)) if own.size > 1 else 0.0,
  }


def onset_correlation(
    content: np.ndarray,
    candidate: np.ndarray,
    *,
    sample_rate: int,
    n_fft: int = 1024,
    hop_length: int = 256,
) -> float:
  """Pearson correlation of librosa onset-strength envelopes.

  The envelopes are truncated to their common number of frames.

  Args:
    content, candidate: waveforms `[samples]`, at least `n_fft` samples each.
    sample_rate: sample rate of both.
    n_fft, hop_length: STFT size and hop of the onset detector (samples).

  Returns:
    The correlation in [-1, 1]; 0 when either envelope is constant.
  """
  _check_rate(sample_rate)
  envelopes = [
      librosa.onset.onset_strength(
          y=_waveform(audio, name, n_fft, "one FFT frame"),
          sr=sample_rate,
          n_fft=n_fft,
          hop_length=hop_length,
      )
      for audio, name in ((content, "content"), (candidate, "candidate"))
  ]
  frames = min(e.size for e in envelopes)
  a, b = (e[:frames] - e[:frames].mean() for e in envelopes)
  scale = np.linalg.norm(a) * np.linalg.norm(b)
  return float(a @ b / scale) if scale > 0 else 0.0


def dropouts(audio: np.ndarray, *, sample_rate: float, frame_s: float = 0.032,
             context_s: float = 1.0, depth_db: float = 10.0) -> dict[str, float]:
  """Broadband dips: frames much quieter than the sound around them.

  The level of a frame is its mean power in dB (the whole band), over frames of
  `frame_s` hopped by half a frame: `1 + (samples - frame) // hop` frames, levels
  floored 120 dB below the mean frame power. Each frame is compared with the median
  level of the frames within `context_s / 2` of it on either side; frames closer than
  that to either end are left out.

  Args:
    audio: waveform `[samples]`, at least two contexts long.
    sample_rate: its sample rate.
    frame_s: frame length in seconds.
    context_s: length of the window of the local median, in seconds.
    depth_db: how far below its local median a frame's level must lie to count.

  Returns:
    {"share": share of the compared frames more than `depth_db` below their local
    median, "deepest_db": the lowest of the compared frames' levels minus their local
    medians, in dB}.
  """
  _check_rate(sample_rate)
  frame = int(round(frame_s * sample_rate))
  hop = max(frame // 2, 1)
  half = int(round(context_s / 2 * sample_rate / hop))  # context frames on each side
  if frame < 2 or half < 1:
    raise InputError(f"need frames of 2 samples or more and a context of 3 frames or more, "
                     f"got frame_s={frame_s}, context_s={context_s}")
  min_samples = int(np.ceil(2 * context_s * sample_rate))
  y = _waveform(audio, "audio", min_samples, f"two contexts of {context_s} s")
  power = np.mean(np.lib.stride_tricks.sliding_window_view(y, frame)[::hop] ** 2, axis=1)
  if not np.any(power):
    raise InputError("audio is silent")
  level = 10 * np.log10(np.maximum(power, 1e-12 * power.mean()))
  local = np.median(np.lib.stride_tricks.sliding_window_view(level, 2 * half + 1), axis=1)
  dip = level[half:level.size - half] - local
  return {"share": float(np.mean(dip < -depth_db)), "deepest_db": float(dip.min())}


def evaluate(
    candidate: np.ndarray,
    *,
    sample_rate: int,
    style: np.ndarray | Sequence[np.ndarray] | None = None,
    content: np.ndarray | None = None,
    magnitude: np.ndarray | None = None,
    n_fft: int = 1024,
    hop_length: int = 256,
) -> dict:
  """All metrics that apply to `candidate`, as a JSON-serialisable dict.

  Args:
    candidate: synthesized waveform `[samples]`.
    sample_rate: sample rate of all waveforms.
    style: style reference `[samples]`, or a list or tuple of them (multi-texture):
      statistics use their concatenation, copies are checked against each
      clip and the largest fraction is reported.
    content: content waveform `[samples]` (style transfer).
    magnitude: target magnitude `[time, n_fft // 2 + 1]` of a phase
      reconstruction.
    n_fft, hop_length: STFT size and hop in samples.

  Returns:
    {"style": {"texture_stats": {...}, "gram": float, "log_mel_db": float,
    "copy": {"fraction", "segments", "max_correlation", "reference_fraction"}},
    "content": {"onset_correlation": float, "log_mel_db": float},
    "spectral_convergence": float}, with only the entries whose inputs were given.
  """
  if style is None and content is None and magnitude is None:
    raise InputError("evaluate needs at least one of style, content or magnitude")
  results = {}
  if style is not None:
    clips = list(style) if isinstance(style, list | tuple) else [style]
    if not clips:
      raise InputError("style is an empty list")
    copies = [copy_fraction(c, candidate, sample_rate=sample_rate) for c in clips]
    reference = np.concatenate([np.asarray(c, dtype=np.float64) for c in clips])
    results["style"] = {
        "texture_stats": texture_stats_distance(
            reference, candidate, sample_rate=sample_rate
        ),
        "gram": gram_distance(
            reference, candidate, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length
        ),
        "log_mel_db": log_mel_distance(
            reference, candidate, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length
        ),
        "copy": {
            "fraction": max(c["fraction"] for c in copies),
            "segments": copies[0]["segments"],
            "max_correlation": max(c["max_correlation"] for c in copies),
            "reference_fraction": max(c["reference_fraction"] for c in copies),
        },
    }
  if content is not None:
    results["content"] = {
        "onset_correlation": onset_correlation(
            content, candidate, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length
        ),
        "log_mel_db": log_mel_distance(
            content, candidate, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length
        ),
    }
  if magnitude is not None:
    results["spectral_convergence"] = spectral_convergence(
        magnitude, candidate, n_fft=n_fft, hop_length=hop_length
    )
  return results


def _steps(frames: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """`(t, flux_step, level_step)` at each frame start `t` with `2 r` frames before and
  `r` after it, of Hann-windowed `frames` `[time, n_fft]` hopped by a quarter (`seam`)."""
  mag = np.abs(np.fft.rfft(frames, axis=1))
  logmag = np.log(mag + 1e-5 * mag.max())
  flux = np.sqrt(np.mean(np.diff(logmag, axis=0) ** 2, axis=1))  # flux[t - 1]: t-1 -> t
  level = 10 * np.log10(np.mean(frames**2, axis=1) + _EPS)
  t = np.arange(2 * r, len(frames) - r)
  flux_step = np.max([flux[t - 1 - i] for i in range(r)], axis=0)
  left = np.mean([level[t - r - i] for i in range(r)], axis=0)
  right = np.mean([level[t + i] for i in range(r)], axis=0)
  return t, flux_step, np.abs(left - right)


def seam(audio: np.ndarray, *, sample_rate: float, frame_s: float = 0.02,
         percentile: float = 95.0, at: Sequence[int] | None = None) -> dict | list[dict]:
  """How much the wrap of a loop (or each join `at`) stands out.

  Hann frames of about `frame_s` (a power of two of samples), hopped by a quarter,
  are laid on the ring of `audio` followed by itself with one starting at the join
  (or, given `at`, on `audio` with one starting at each join). Two steps are measured
  at every frame start `p`: the spectral flux, the largest RMS change of the log
  magnitude (-100 dB floor) between consecutive frames over the frames that overlap
  `p`, and the level step, the difference in dB between the mean level of the four
  frames that end at or before `p` and of the four that start at or after it. Each is
  divided by its `percentile` over the starts far enough from every join that they
  do not see it.

  Args:
    audio: a loop `[samples]`, at least 32 frames long.
    sample_rate: its sample rate.
    at: sample indices of joins inside `audio` (e.g. `blocks.joins`), each a whole
      window from either end; None: the loop's wrap.

  Returns:
    {"flux", "level"}: the join's steps over the interior's percentile (at most 1: no
    seam by that measure); {"flux_rank", "level_rank"}: the share of interior steps
    below the join's, in [0, 1]. Given `at`, one such dict per join.
  """
  _check_rate(sample_rate)
  n_fft = 1 << max(int(round(np.log2(frame_s * sample_rate))), 4)
  hop, r = n_fft // 4, 4
  y = _waveform(audio, "audio", 32 * n_fft, "32 frames")
  if not np.any(y):
    raise InputError("audio is silent")
  n = y.size
  window = scipy.signal.get_window("hann", n_fft)
  if at is None:
    # Frame t starts at sample (t - join) * hop of the ring: frame `join` at the wrap.
    join = -(-n // (2 * hop))
    starts = (np.arange(n // hop) - join) * hop
    grids = [(0, starts, y[(starts[:, None] + np.arange(n_fft)) % n] * window)]
  else:
    if any(not 3 * n_fft <= j <= n - 2 * n_fft for j in at):
      raise ValueError(f"joins {list(at)} must lie {3 * n_fft} samples or more from the start "
                       f"and {2 * n_fft} from the end of {n} samples")
    # One grid of frames per join, one of them starting at it.
    grids = []
    for j in at:
      frames = np.lib.stride_tricks.sliding_window_view(y[j % hop:], n_fft)[::hop] * window
      grids.append((j, j % hop + hop * np.arange(len(frames)), frames))
  out = []
  for join, starts, frames in grids:
    t, flux_step, level_step = _steps(frames, r)
    # The interior: frame starts at least 3 * r frames from every join.
    joins = [join] if at is None else at
    inside = np.all([np.abs(starts[t] - j) >= 3 * r * hop for j in joins], axis=0)
    d = {}
    for name, step in (("flux", flux_step), ("level", level_step)):
      value = step[starts[t] == join][0]
      d[name] = float(value / max(np.percentile(step[inside], percentile), _EPS))
      d[f"{name}_rank"] = float(np.mean(step[inside] < value))
    out.append(d)
  return out[0] if at is None else out


def stereo_statistics(audio: np.ndarray, *, sample_rate: float, n_bands: int = 16,
                      low_hz: float = 50.0, n_fft: int = 1024, hop_length: int = 256) -> dict:
  """Per-ERB-band coherence and level difference of the two channels of `audio`.

  With STFTs `L`, `R` and a band's power gains `w` over bins, the coherence is
  `|sum w L R*| / sqrt(sum w |L|^2 sum w |R|^2)` (sums over frames and bins: 1 for
  channels that differ by a gain, about 0 for independent ones) and the level
  difference `10 log10(sum w |L|^2 / sum w |R|^2)` dB (positive: left louder).

  Args:
    audio: `[2, samples]`, at least 32 frames.
    n_bands: ERB bands from `low_hz` to 0.45 of the sample rate (`erb_filterbank`).

  Returns:
    {"centre_hz", "coherence", "level_db"}: lists of `n_bands` floats.
  """
  y = np.asarray(audio, dtype=np.float64)
  if y.ndim != 2 or y.shape[0] != 2:
    raise InputError(f"stereo audio must be [2, samples], got shape {y.shape}")
  left, right = (_waveform(c, name, 32 * hop_length + n_fft, "32 frames")
                 for c, name in zip(y, ("left channel", "right channel"), strict=True))
  high_hz = _checked_band_range(sample_rate, n_bands, low_hz, None)
  gains = erb_filterbank(np.fft.rfftfreq(n_fft, 1.0 / sample_rate), n_bands=n_bands,
                         low_hz=low_hz, high_hz=high_hz) ** 2
  spec_l, spec_r = (librosa.stft(c, n_fft=n_fft, hop_length=hop_length) for c in (left, right))
  cross = gains @ np.sum(spec_l * np.conj(spec_r), axis=1)
  power_l, power_r = (gains @ np.sum(np.abs(s) ** 2, axis=1) for s in (spec_l, spec_r))
  centres, _ = erb_centres(n_bands=n_bands, low_hz=low_hz, high_hz=high_hz)
  return {"centre_hz": centres.tolist(),
          "coherence": (np.abs(cross) / np.sqrt(power_l * power_r + _EPS**2)).tolist(),
          "level_db": (10 * np.log10((power_l + _EPS) / (power_r + _EPS))).tolist()}
