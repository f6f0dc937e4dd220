"""Stereo textures: two independent mono textures mixed per ERB band, so that the
channels' coherence and level difference (`metrics.stereo_statistics`) follow those of
a stereo style, or, for a mono style, those of a diffuse sound field.

For independent signals `A`, `B` of equal power, each STFT bin of

  L = g A,  R = (r A + sqrt(1 - r^2) B) / g

has coherence `r` and a level difference of `40 log10 g` dB; `r` and `g` follow the
bands' values, interpolated over bins on the ERB-number axis. The left channel is one
texture, the right one a blend that is mostly `A` where the coherence is high and
mostly `B` where it is low. On rain, fire and a stereo music clip this kept each
channel closer to the style's statistics than the symmetric mix `cos t A +- sin t B`
(`cos 2t = r`), which blends both channels (BUILD.md "Stereo").

Waveforms are float32 numpy arrays: mono `[samples]`, stereo `[2, samples]`.
"""

from collections.abc import Sequence

import numpy as np

from jaxstyle import metrics
from jaxstyle import spectral
from jaxstyle.errors import InputError

BANDS = 16  # ERB bands of the statistics, from LOW_HZ to 0.45 of the sample rate
LOW_HZ = 50.0
# The mono default: a diffuse field at two omnidirectional microphones this far apart
# (about a head's width), whose coherence falls to 0 at SPEED_OF_SOUND / (2 x spacing).
DIFFUSE_SPACING_M = 0.17
SPEED_OF_SOUND = 343.0  # m/s


def diffuse_coherence(frequency_hz: np.ndarray, spacing_m: float = DIFFUSE_SPACING_M) -> np.ndarray:
  """`|sin(kd) / kd|`, `k = 2 pi f / c`: the coherence of a diffuse sound field at two
  omnidirectional microphones `spacing_m` apart (Cook et al. 1955), same shape."""
  kd = 2 * np.pi * np.asarray(frequency_hz, np.float64) * spacing_m / SPEED_OF_SOUND
  return np.abs(np.sinc(kd / np.pi))


def statistics(y: np.ndarray, *, sample_rate: int) -> dict:
  """`metrics.stereo_statistics` of `[2, samples]` in this module's `BANDS`."""
  return metrics.stereo_statistics(y, sample_rate=sample_rate, n_bands=BANDS,
                                   low_hz=LOW_HZ)


def compare(y: np.ndarray, stats: dict, *, sample_rate: int) -> dict:
  """How closely a stereo texture `[2, samples]` follows `stats` (as from `target`):
  {"target", "measured", "coherence_error", "level_db_error"}, the errors the mean
  absolute differences over the bands."""
  measured = statistics(y, sample_rate=sample_rate)
  return {"target": stats, "measured": measured,
          **{f"{k}_error": float(np.mean(np.abs(np.subtract(measured[k], stats[k]))))
             for k in ("coherence", "level_db")}}


def target(styles: Sequence[np.ndarray], *, sample_rate: int) -> dict:
  """The statistics a stereo texture follows: the mean `metrics.stereo_statistics` of the
  stereo clips among `styles` (`[channels, samples]` each), else a diffuse field
  (`diffuse_coherence`, no level difference).

  Returns:
    {"centre_hz", "coherence", "level_db", "source": "style" or "diffuse"}.
  """
  stats = [statistics(s, sample_rate=sample_rate) for s in styles
           if s.ndim == 2 and len(s) == 2]
  if not stats:
    centres, _ = metrics.erb_centres(n_bands=BANDS, low_hz=LOW_HZ, high_hz=0.45 * sample_rate)
    return {"centre_hz": centres.tolist(), "coherence": diffuse_coherence(centres).tolist(),
            "level_db": [0.0] * BANDS, "source": "diffuse"}
  mean = {k: np.mean([s[k] for s in stats], axis=0).tolist()
          for k in ("centre_hz", "coherence", "level_db")}
  return {**mean, "source": "style"}


def mix(a: np.ndarray, b: np.ndarray, stats: dict, *, sample_rate: int, n_fft: int,
        hop_length: int, circular: bool = False) -> np.ndarray:
  """Two independent textures `[samples]` -> a stereo texture `[2, samples]` with the
  coherence and level difference per band of `stats` (as from `target`), mixed in the
  STFT of `n_fft` and `hop_length`; `b` is first scaled to `a`'s RMS. `circular`: the
  textures are loops (`spectral.stft`'s ring), and so is the mix."""
  if a.shape != b.shape or a.ndim != 1:
    raise InputError(f"mix needs two mono textures of one length, got {a.shape} and {b.shape}")
  b = b * np.sqrt(np.mean(np.square(a, dtype=np.float64)) /
                  max(np.mean(np.square(b, dtype=np.float64)), 1e-30))
  erb = metrics.hz_to_erb_number(np.fft.rfftfreq(n_fft, 1.0 / sample_rate))
  centres = metrics.hz_to_erb_number(np.asarray(stats["centre_hz"]))
  r = np.clip(np.interp(erb, centres, stats["coherence"]), 0.0, 1.0)
  gain = 10 ** (np.interp(erb, centres, stats["level_db"]) / 40)
  kw = dict(n_fft=n_fft, hop_length=hop_length, circular=circular)
  spec_a, spec_b = (np.asarray(spectral.stft(np.asarray(x, np.float32), **kw)) for x in (a, b))
  left = gain * spec_a
  right = (r * spec_a + np.sqrt(1 - r**2) * spec_b) / gain
  return np.stack([np.asarray(spectral.istft(s, length=a.size, **kw)) for s in (left, right)])
