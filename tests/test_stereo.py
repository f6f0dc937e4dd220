"""Stereo textures: the coherence and level measure on signals of known coherence, the
band mix against its closed form, and a stereo texture that follows a stereo style."""

import json

import numpy as np
import pytest
import soundfile as sf

from jaxstyle import InputError
from jaxstyle import config
from jaxstyle import examples
from jaxstyle import metrics
from jaxstyle import pipeline
from jaxstyle import stereo

RATE = 22050


def _noise(seed, seconds=3.0):
  return np.random.default_rng(seed).standard_normal(int(seconds * RATE)).astype(np.float32)


def test_stereo_statistics_of_signals_of_known_coherence():
  a, b = _noise(0), _noise(1)
  same = metrics.stereo_statistics(np.stack([2 * a, a]), sample_rate=RATE)
  np.testing.assert_allclose(same["coherence"], 1, atol=1e-6)
  np.testing.assert_allclose(same["level_db"], 20 * np.log10(2), atol=1e-6)
  apart = metrics.stereo_statistics(np.stack([a, b]), sample_rate=RATE)
  assert max(apart["coherence"]) < 0.15 and max(np.abs(apart["level_db"])) < 1.5
  # a + b against a: coherence 1 / sqrt 2, level difference 3 dB.
  half = metrics.stereo_statistics(np.stack([a + b, a]), sample_rate=RATE)
  np.testing.assert_allclose(half["coherence"], 1 / np.sqrt(2), atol=0.1)
  np.testing.assert_allclose(half["level_db"], 10 * np.log10(2), atol=1)
  with pytest.raises(InputError, match=r"\[2, samples\]"):
    metrics.stereo_statistics(a, sample_rate=RATE)


def test_diffuse_coherence_falls_to_zero_at_half_a_wavelength_between_the_microphones():
  first_zero_hz = stereo.SPEED_OF_SOUND / (2 * stereo.DIFFUSE_SPACING_M)
  np.testing.assert_allclose(stereo.diffuse_coherence(np.array([0.0, first_zero_hz])), [1, 0],
                             atol=1e-12)
  assert stereo.diffuse_coherence(np.array(100.0)) > 0.95


@pytest.mark.parametrize("circular", [False, True])
def test_mix_gives_two_independent_textures_the_target_statistics(circular):
  centres, _ = metrics.erb_centres(n_bands=stereo.BANDS, low_hz=stereo.LOW_HZ,
                                   high_hz=0.45 * RATE)
  target = {"centre_hz": centres.tolist(), "coherence": np.linspace(0.95, 0.05, stereo.BANDS),
            "level_db": np.linspace(4.0, -6.0, stereo.BANDS)}
  a, b = _noise(2)[:256 * 256], 3 * _noise(3)[:256 * 256]
  y = stereo.mix(a, b, target, sample_rate=RATE, n_fft=512, hop_length=128,
                 circular=circular)
  assert y.shape == (2, a.size)
  measured = metrics.stereo_statistics(y, sample_rate=RATE)
  np.testing.assert_allclose(measured["coherence"], target["coherence"], atol=0.08)
  np.testing.assert_allclose(measured["level_db"], target["level_db"], atol=0.5)
  if circular:  # a ring stays a ring
    for channel in y:
      assert metrics.seam(channel, sample_rate=RATE)["flux"] <= 1


def test_target_is_the_stereo_styles_or_a_diffuse_field():
  a, b = _noise(4), _noise(5)
  clip = np.stack([a, 0.5 * a + b])
  t = stereo.target([a[:RATE], clip], sample_rate=RATE)  # the mono clip does not count
  assert t["source"] == "style"
  np.testing.assert_allclose(
      t["coherence"], metrics.stereo_statistics(clip, sample_rate=RATE)["coherence"])
  diffuse = stereo.target([a], sample_rate=RATE)
  assert diffuse["source"] == "diffuse" and diffuse["level_db"] == [0.0] * stereo.BANDS
  np.testing.assert_allclose(diffuse["coherence"],
                             stereo.diffuse_coherence(np.asarray(diffuse["centre_hz"])))


def test_a_stereo_texture_follows_a_stereo_style(tmp_path):
  left = examples.birds_and_rain(duration_s=2.0, seed=1)
  right = 0.4 * left + examples.birds_and_rain(duration_s=2.0, seed=2)
  path = str(tmp_path / "style.wav")
  sf.write(path, np.stack([left, right]).T, RATE, subtype="FLOAT")
  c = config.texture()  # on a small net, briefly
  c.bands, c.modulation_lags, c.net.channels = 8, 20, 16
  c.iterations, c.phase_iterations, c.refine_iterations = 30, 50, 3
  record = pipeline.run(c, style_paths=[path], output_dir=str(tmp_path / "out"), channels=2)
  y, rate = sf.read(str(tmp_path / "out" / "style.wav"))
  assert y.shape == (int(round(record["duration_s"] * rate)), 2) and record["channels"] == 2
  style = metrics.stereo_statistics(np.stack([left, right]), sample_rate=RATE,
                                    n_bands=stereo.BANDS)
  ours = metrics.stereo_statistics(y.T, sample_rate=rate, n_bands=stereo.BANDS)
  # The style's coherence is 0.4 / sqrt(1.16) = 0.37 in every band, its level -0.6 dB.
  assert np.mean(np.abs(np.subtract(ours["coherence"], style["coherence"]))) < 0.1
  assert np.mean(np.abs(np.subtract(ours["level_db"], style["level_db"]))) < 1
  quality = record["quality"]
  assert quality["stereo"]["target"]["source"] == "style"
  assert quality["stereo"]["coherence_error"] < 0.1
  # Each channel is a texture of the style: far closer to its statistics than noise is.
  noise = metrics.texture_stats_distance((left + right) / 2, _noise(6, 2.0),
                                         sample_rate=RATE)["total"]
  for channel in (quality["style"], quality["right"]):
    assert channel["texture_stats"]["total"] < 0.5 * noise and channel["copy"]["fraction"] == 0
  with open(tmp_path / "out" / "style.json") as f:
    assert json.load(f)["quality"]["stereo"] == json.loads(json.dumps(quality["stereo"]))


def test_stereo_is_for_textures(tiny, tmp_path):
  clip = str(tmp_path / "clip.wav")
  sf.write(clip, examples.tones(duration_s=1.0), RATE)
  with pytest.raises(InputError, match="style transfer is mono"):
    pipeline.run(tiny, style_paths=[clip], content_path=clip, output_dir=str(tmp_path / "o"),
                 channels=2)
  with pytest.raises(InputError, match="1 or 2"):
    pipeline.run(tiny, style_paths=[clip], output_dir=str(tmp_path / "o"), channels=3)
  assert not (tmp_path / "o").exists()
