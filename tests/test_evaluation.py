"""The texture-quality harness: baselines, excerpts, scores and the script end to end."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from jaxstyle import InputError
from jaxstyle import config
from jaxstyle import evaluation
from jaxstyle import examples
from jaxstyle import metrics

SR = 22050
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_erb_spectrum_distance_closed_forms():
  y = examples.birds_and_rain(duration_s=1.0, seed=1).astype(np.float64)
  assert metrics.erb_spectrum_distance(y, y, sample_rate=SR) == 0.0
  # 10x the amplitude is 20 dB more power in every band.
  assert metrics.erb_spectrum_distance(y, 10 * y, sample_rate=SR) == pytest.approx(20, abs=1e-6)
  # Lengths may differ: a signal repeated has the same long-term spectrum.
  assert metrics.erb_spectrum_distance(y, np.tile(y, 2), sample_rate=SR) < 0.5
  with pytest.raises(InputError):
    metrics.erb_spectrum_distance(y, y[:10], sample_rate=SR)


def test_shaped_noise_has_the_style_spectrum_and_copies_nothing():
  style = examples.birds_and_rain(duration_s=2.0, seed=1)
  noise = evaluation.shaped_noise(style, n_samples=3 * SR, seed=0)
  assert noise.shape == (3 * SR,)
  assert metrics.erb_spectrum_distance(style, noise, sample_rate=SR) < 1.5
  white = np.random.default_rng(0).standard_normal(3 * SR) * style.std()
  assert metrics.erb_spectrum_distance(style, white, sample_rate=SR) > 5
  assert metrics.copy_fraction(style, noise, sample_rate=SR)["fraction"] == 0


def test_equal_power_fades_keep_the_power():
  fade_in, fade_out = evaluation.equal_power_fades(220)
  np.testing.assert_allclose(fade_in**2 + fade_out**2, 1, atol=1e-12)
  assert np.all(np.diff(fade_in) > 0) and np.all(np.diff(fade_out) < 0)
  np.testing.assert_allclose(fade_in, fade_out[::-1], atol=1e-12)


def test_chunk_shuffle_rearranges_the_style_chunks():
  style = np.arange(1000, dtype=np.float32)
  out = evaluation.chunk_shuffle(style, n_samples=2500, seed=0, chunk=100, fade=10)
  assert out.shape == (2500,) and out.dtype == np.float32
  # Between the fades (the last 10 samples of every 100), runs of 90 consecutive style
  # samples: those after the fade-in of chunks of 110 starting every 100.
  runs = out.reshape(25, 100)[:, :90]
  assert set(runs[:, 0]) <= set(style[10:811:100]) and not np.array_equal(out[:1000], style)
  np.testing.assert_array_equal(runs - runs[:, :1], np.tile(np.arange(90), (25, 1)))


def test_chunk_shuffle_joins_smoothly():
  # Low-passed noise: independent chunks, with sample-to-sample steps far below its level.
  lowpass = scipy.signal.butter(4, 500, fs=SR, output="sos")
  style = scipy.signal.sosfilt(lowpass, np.random.default_rng(0).standard_normal(4 * SR))
  chunk, fade = int(0.1 * SR), int(0.01 * SR)
  out = evaluation.chunk_shuffle(style, n_samples=3 * SR, seed=0, chunk=chunk, fade=fade)
  steps = np.abs(np.diff(out))
  # Step i (out[i] to out[i + 1]) touches the fade that ends at a multiple of `chunk`.
  at_joins = (np.arange(steps.size) + fade + 1) % chunk <= fade
  assert steps[at_joins].max() <= steps[~at_joins].max()
  assert steps[~at_joins].max() <= np.abs(np.diff(style)).max()  # style samples in between


def test_excerpts_are_disjoint_halves_and_short_audio_is_refused():
  y = np.arange(100.0)
  style, held = evaluation.excerpts(y, n_samples=30, name="y")
  assert style.size == held.size == 30 and style.max() < 50 <= held.min()
  with pytest.raises(InputError, match="too short"):
    evaluation.excerpts(y, n_samples=51, name="y")


def test_scores_ignore_the_level_and_tell_held_out_from_copy():
  y = examples.birds_and_rain(duration_s=4.0, seed=3)
  style, held = evaluation.excerpts(y, n_samples=2 * SR, name="y")
  a = evaluation.score(style, style=style, held_out=held, sample_rate=SR)
  b = evaluation.score(0.1 * style, style=style, held_out=held, sample_rate=SR)
  for k in evaluation.SCORES:
    assert a[k] == pytest.approx(b[k], rel=1e-5, abs=1e-6)  # float32 rounding of 0.1 x
  assert a["stats"] < 1e-6 and a["copy"] == 1.0 and a["stats_held_out"] > 0
  assert a["dips"] == metrics.dropouts(style, sample_rate=SR)["share"]


def test_method_config_takes_the_sample_rate_given():
  path = os.path.join(ROOT, "configs", "texture.py")
  _, c = evaluation.method_config(path)
  assert c.sample_rate == config.load(path).sample_rate
  name, c = evaluation.method_config(f"{path}:iterations=3", sample_rate=16000)
  assert name == "texture[iterations=3]" and c.sample_rate == 16000 and c.iterations == 3


def test_evaluate_set_script_writes_the_report(tmp_path):
  textures = tmp_path / "textures"
  textures.mkdir()
  for seed in (1, 2):
    sf.write(str(textures / f"t{seed}.wav"), examples.birds_and_rain(duration_s=4.4, seed=seed), SR)
  tiny = ("configs/default.py:n_fft=256:hop_length=64:bands=8:net.channels=16:net.kernel_size=5:"
          "iterations=4:phase_iterations=3:refine_iterations=2")
  out = tmp_path / "out"
  p = subprocess.run([sys.executable, "scripts/evaluate_set.py", f"--config={tiny}",
                      f"--compare={tiny}:refine_iterations=0:domain=waveform:noise_init=spectrum:"
                      "net.kernel_sizes=3,5",
                      f"--textures={textures}", f"--output_dir={out}", "--excerpt_s=2",
                      "--sample_rate=16000", "--compilation_cache="], capture_output=True,
                     text=True, cwd=ROOT, timeout=300)
  assert p.returncode == 0, p.stderr
  report = json.loads((out / "report.json").read_text())
  overrides = tiny.split(":")[1:]
  methods = ["held_out", "shaped_noise", "chunk_shuffle", f"default[{','.join(overrides)}]",
             f"default[{','.join(overrides)},refine_iterations=0,domain=waveform,"
             "noise_init=spectrum,net.kernel_sizes=3,5]"]
  assert list(report["mean"]) == methods
  assert [r["name"] for r in report["recordings"]] == ["t1", "t2"]
  assert report["mean"]["held_out"]["stats_held_out"] == 0
  assert set(report["mean"]["held_out"]) == {*evaluation.SCORES, "seconds"}
  assert 0 <= report["style_dips"] <= 1 and "style_dips" in report["recordings"][0]
  assert sorted(os.listdir(out / "t1")) == sorted(f"{m}.wav" for m in ["style", *methods])
  assert sf.info(str(out / "t1" / "style.wav")).samplerate == 16000
  markdown = (out / "report.md").read_text()
  assert (out / "grid.png").read_bytes()[:4] == b"\x89PNG" and "| chunk_shuffle |" in markdown
  assert "| style excerpt |" in markdown
  for flag, word in (("--config=configs/default.py:nonsense=1", "nonsense"),
                     ("--sample_rate=4000", "--sample_rate"), ("--excerpt_s=1", "--excerpt_s")):
    bad = subprocess.run([sys.executable, "scripts/evaluate_set.py", flag,
                          f"--textures={textures}", "--compilation_cache="],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 1 and "error:" in bad.stderr and word in bad.stderr, flag
