"""The top-level API (`jaxstyle.texture`, `stylize`, `load_audio`, `load_config`)."""

import os

import numpy as np
import pytest

import jaxstyle
from jaxstyle import batch
from jaxstyle import blocks
from jaxstyle import config
from jaxstyle import metrics
from jaxstyle import outputs

SR = 22050


def test_texture_is_deterministic_and_nearer_the_style_than_noise(tiny, texture_clip):
  a = jaxstyle.texture(texture_clip, tiny, duration_s=0.5, seed=3)
  b = jaxstyle.texture(texture_clip, tiny, duration_s=0.5, seed=3)
  np.testing.assert_array_equal(a, b)
  assert a.shape == (SR // 2,)
  noise = np.random.default_rng(0).standard_normal(a.size).astype(np.float32)
  mel = lambda y: metrics.log_mel_distance(texture_clip, y, sample_rate=SR)  # noqa: E731
  assert mel(a) < mel(noise)


def test_a_texture_longer_than_a_block_is_made_in_blocks(tiny, texture_clip):
  tiny.block_s, tiny.iterations = 2.5, 5
  y = jaxstyle.texture(texture_clip, tiny, duration_s=3.0, seed=2)
  spec = jaxstyle.spectrogram(texture_clip, tiny)
  p, block = config.in_blocks(tiny, 3 * SR)
  parts = list(blocks.synthesize(block, batch.targets(block, [spec]), p, n_samples=3 * SR,
                                 seed=2))
  assert len(parts) == p.n_blocks > 1
  np.testing.assert_array_equal(y, np.concatenate([b.audio for b in parts]))
  tiny.domain = "waveform"
  with pytest.raises(jaxstyle.InputError, match="made in blocks, which need"):
    jaxstyle.texture(texture_clip, tiny, duration_s=3.0)


def test_stylize_keeps_the_contents_length(tiny, texture_clip, tone_clip):
  tiny.iterations = 3
  y = jaxstyle.stylize(tone_clip[: SR // 2], texture_clip, tiny)
  assert y.shape == (SR // 2,) and np.all(np.isfinite(y))


@pytest.mark.parametrize("call, message", [
    (lambda c, y: jaxstyle.texture(y[None, None], c), "mono waveform"),
    (lambda c, y: jaxstyle.texture(y, c, duration_s=0.001), "too short"),
    (lambda c, y: jaxstyle.texture(np.zeros_like(y), c), "silent"),
    (lambda c, y: jaxstyle.texture(np.full_like(y, np.nan), c), "NaN"),
    (lambda c, y: jaxstyle.stylize(y[:10], y, c), "too short"),
])
def test_bad_input_is_refused_by_name(tiny, texture_clip, call, message):
  with pytest.raises(jaxstyle.InputError, match=message):
    call(tiny, texture_clip)


def test_load_config_by_name_or_path(tmp_path):
  assert jaxstyle.load_config("texture") == config.texture()
  path = os.path.join(config.CONFIGS_DIR, "gram_only.py")
  assert jaxstyle.load_config(path) == config.base()
  with pytest.raises(jaxstyle.InputError, match="shipped configs: .*texture"):
    jaxstyle.load_config("no_such_config")


def test_load_audio_resamples_and_checks(tmp_path, texture_clip):
  path = str(tmp_path / "a.wav")
  outputs.audio(path, texture_clip, sample_rate=SR)
  y = jaxstyle.load_audio(path, sample_rate=SR // 2)
  assert abs(y.size - texture_clip.size // 2) <= 1
  outputs.audio(path, np.zeros(1000), sample_rate=SR)
  with pytest.raises(jaxstyle.InputError, match="silent"):
    jaxstyle.load_audio(path)
