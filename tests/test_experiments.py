"""The papers' experiments: their configs, quick runs, resume, reports and the script."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from jaxstyle import InputError
from jaxstyle import experiments

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Fewer iterations than quick mode, for the in-process runs.
SMOKE = {"iterations": 3, "phase_iterations": 2, "log_every": 3}
TEXTURE_WEIGHTS = {"content_weight": 0.0, "style_weight": 1e9, "bound_weight": 1e-3}


def _script(*args):
  return subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "reproduce.py"), *args],
                        capture_output=True, text=True, cwd=ROOT, timeout=300)


def _configs(name, *, quick):
  e = experiments.load(name)
  return {v["name"]: experiments.variant_config(e, v, quick=quick, params="net.msgpack")
          for v in e.variants}


@pytest.mark.parametrize("quick", [False, True])
@pytest.mark.parametrize("name", experiments.names())
def test_every_variant_config_passes_check(name, quick):
  e = experiments.load(name)
  assert e.description and e.paper and e.task in experiments.TASKS
  configs = _configs(name, quick=quick)  # variant_config runs config.check.
  assert len(configs) == len(e.variants) >= 1
  for c in configs.values():
    if e.task == "texture":
      assert {k: c[k] for k in TEXTURE_WEIGHTS} == TEXTURE_WEIGHTS
      assert c.init == "noise"
    if quick:
      assert c.iterations <= 20 and c.net.channels <= 64 and c.phase_iterations == 10


def test_experiments_follow_the_papers():
  assert experiments.names() == ["h19_beta", "h19_cqt", "h19_infinite", "h19_kernels",
                                 "h19_multi", "h19_weights_init", "m20_factorial"]
  beta = _configs("h19_beta", quick=False)
  assert sorted(c.style_weight for c in beta.values()) == [1e5, 1e7, 1e9]
  assert {(c.content_weight, c.bound_weight, c.init, c.params) for c in beta.values()} == {
      (1.0, 1e-3, "content", "")}
  weights = {name: (c.init, c.params != "", c.content_weight, c.style_weight, c.bound_weight)
             for name, c in _configs("h19_weights_init", quick=False).items()}
  assert weights == {"pretrained_noise": ("noise", True, 1.0, 1e3, 1.0),
                     "random_noise": ("noise", False, 1e1, 1e7, 1e-3),
                     "pretrained_content": ("content", True, 1.0, 1e5, 1e1),
                     "random_content": ("content", False, 1.0, 1e8, 1e-3)}
  kernels = _configs("h19_kernels", quick=False)
  assert sorted((c.net.orientation, c.net.kernel_size) for c in kernels.values()) == [
      (o, k) for o in ("freq", "time") for k in (1, 11, 101)]
  cqt = _configs("h19_cqt", quick=False)
  assert sorted((c.spectrogram, c.net.kernel_size) for c in cqt.values()) == [
      (s, k) for s in ("cqt_map", "stft") for k in (1, 11, 101)]
  assert {c.net.orientation for c in cqt.values()} == {"time"}
  m20 = _configs("m20_factorial", quick=False)
  assert sorted((c.spectrogram, c.net.pooling) for c in m20.values()) == [
      (s, p) for s in ("cqt", "stft") for p in ("avg", "max")]
  assert {(c.hop_length, c.content_layers, c.style_layers, c.content_weight, c.style_weight,
           c.cqt_bins, c.cqt_bins_per_octave) for c in m20.values()} == {
               (128, "relu3", "relu1,relu2", 1.0, 1e8, 512, 64)}
  multi = experiments.load("h19_multi")
  assert len(multi.style) == 3 and multi.variants[0]["duration_factor"] == 4
  assert {v.get("duration_factor") for v in experiments.load("h19_infinite").variants} == {3}


def test_bad_variant_settings_are_refused():
  e = experiments.load("h19_beta")
  variant = e.variants[0]
  with pytest.raises(InputError, match="h19_beta, variant beta_1e5: unknown config key 'no.key'"):
    experiments.variant_config(e, variant, overrides={"no.key": 1})
  with pytest.raises(InputError, match="variant beta_1e5: config.net.pooling must be one of"):
    experiments.variant_config(e, variant, overrides={"net.pooling": "median"})
  with pytest.raises(InputError, match="variant beta_1e5: config.iterations"):
    experiments.variant_config(e, variant, overrides={"iterations": "many"})


@pytest.mark.parametrize("sound", sorted(experiments.SOUNDS))
def test_procedural_sounds_are_deterministic(sound):
  make = experiments.SOUNDS[sound]
  y = make(duration_s=1.5, sample_rate=16000, seed=3)
  assert y.shape == (24000,) and y.dtype == np.float32
  np.testing.assert_allclose(np.max(np.abs(y)), 0.9, rtol=1e-6)
  np.testing.assert_array_equal(y, make(duration_s=1.5, sample_rate=16000, seed=3))
  assert not np.array_equal(y, make(duration_s=1.5, sample_rate=16000, seed=4))


def _check_report(out, report, names):
  assert [v["name"] for v in report["variants"]] == names
  with open(out / "report.json") as f:
    assert json.load(f)["variants"][0]["record"]["quality"] == report["variants"][0]["record"][
        "quality"]
  markdown = (out / "report.md").read_text()
  for name in names:
    assert sum(line.startswith(f"| {name} |") for line in markdown.splitlines()) == 1
    for ext in ("wav", "png", "json"):
      assert (out / f"{name}.{ext}").is_file()
  assert "](grid.png)" in markdown
  assert (out / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  return markdown


@pytest.mark.parametrize("name, variants", [
    ("h19_infinite", ["2d_3x"]),
    ("h19_kernels", ["time_k11"]),
    ("h19_cqt", ["cqt_map_k1"]),
    ("m20_factorial", ["cqt_avg"]),
])
def test_experiment_runs_quick(tmp_path, name, variants):
  report = experiments.run(name, output_dir=str(tmp_path), quick=True, variants=variants,
                           overrides=SMOKE)
  _check_report(tmp_path, report, variants)
  e = experiments.load(name)
  assert report["missing"] == [v["name"] for v in e.variants if v["name"] not in variants]
  record = report["variants"][0]["record"]
  assert record["task"] == e.task and record["config"]["iterations"] == 3
  factor = report["variants"][0]["duration_factor"]
  y, rate = sf.read(tmp_path / f"{variants[0]}.wav")
  assert abs(y.size / rate - factor * e.quick.sound_s) < 0.01
  assert sorted(os.listdir(tmp_path / "inputs")) == sorted(
      f"{s}.wav" for s in [*e.style, *([e.content] if e.content else [])])


def test_multi_texture_of_files_of_different_lengths(tmp_path):
  styles = []
  for i, (sound, seconds) in enumerate((("birds", 1.0), ("piano", 0.7), ("rooster", 0.5))):
    styles.append(str(tmp_path / f"{sound}.wav"))
    sf.write(styles[-1], experiments.SOUNDS[sound](duration_s=seconds, seed=i), 22050)
  out = tmp_path / "out"
  report = experiments.run("h19_multi", output_dir=str(out), style_paths=styles, quick=True,
                           overrides=SMOKE)
  markdown = _check_report(out, report, ["mix_4x"])
  assert report["inputs"] == {"style": styles, "content": None}
  assert report["variants"][0]["record"]["style"] == styles
  y, rate = sf.read(out / "mix_4x.wav")
  assert abs(y.size / rate - 4.0) < 0.01 and "duration x4 (4.0 s)" in markdown
  assert not (out / "inputs").exists()


def test_pretrained_experiment_trains_a_tiny_classifier_in_quick_mode(tmp_path):
  report = experiments.run("h19_weights_init", output_dir=str(tmp_path), quick=True,
                           overrides=SMOKE)
  names = ["random_noise", "pretrained_noise", "random_content", "pretrained_content"]
  markdown = _check_report(tmp_path, report, names)
  checkpoint = str(tmp_path / experiments.QUICK_PRETRAIN_DIR / "net.msgpack")
  assert report["pretraining"]["checkpoint"] == checkpoint and report["pretraining"]["quick"]
  assert "not on ESC-50" in markdown
  params = {v["name"]: v["record"]["config"]["params"] for v in report["variants"]}
  assert params == {"random_noise": "", "pretrained_noise": checkpoint, "random_content": "",
                    "pretrained_content": checkpoint}
  losses = {v["name"]: v["record"]["final_losses"]["content"] for v in report["variants"]}
  assert losses["random_content"] < losses["random_noise"]


def test_bad_input_fails_before_any_output(tmp_path):
  out = tmp_path / "out"
  cases = [
      (dict(name="h19_nope"), "unknown experiment 'h19_nope'"),
      (dict(name="h19_beta", variants=["beta_1e4"]), "no variant"),
      (dict(name="h19_beta", style_paths=[str(tmp_path / "none.wav")]), "not found"),
      (dict(name="h19_kernels", content_path=str(tmp_path / "c.wav")), "takes no content"),
      (dict(name="h19_weights_init"), "scripts/train.py --config=configs/huzaifah2019.py"),
      (dict(name="h19_weights_init", params=str(tmp_path / "none.msgpack")),
       "checkpoint not found"),
      (dict(name="h19_beta", overrides={"net.kernel_size": 0}), "net.kernel_size must be"),
  ]
  for kwargs, message in cases:
    with pytest.raises(InputError, match=message):
      experiments.run(output_dir=str(out), **kwargs)
    assert not out.exists()


def test_list_names_every_experiment():
  p = _script("--list")
  assert p.returncode == 0, p.stderr
  lines = p.stdout.splitlines()
  assert [line.split()[0] for line in lines] == experiments.names()
  assert all(len(line.split()) > 3 for line in lines)


def test_help_explains_every_flag():
  p = _script("--helpshort")
  for flag in ("--list", "--experiment", "--output_dir", "--style", "--content", "--quick",
               "--resume", "--params", "--seed", "--variants", "--compilation_cache"):
    assert flag in p.stdout


@pytest.mark.parametrize("args, message", [
    (["--experiment=nope"], "unknown experiment 'nope'"),
    (["--experiment=h19_beta", "--content=/nonexistent.wav"], "not found"),
    ([], "--experiment and --output_dir are required"),
])
def test_script_bad_input_is_one_error_line(tmp_path, args, message):
  out = tmp_path / "out"
  p = _script(*args, *([f"--output_dir={out}"] if args else []))
  assert p.returncode == 1
  errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and message in errors[0], p.stderr
  assert not out.exists()


def test_script_resume_recomputes_only_missing_variants(tmp_path):
  out = tmp_path / "out"
  args = ["--experiment=h19_beta", f"--output_dir={out}", "--quick",
          f"--compilation_cache={tmp_path / 'cache'}"]
  p = _script(*args)
  assert p.returncode == 0, p.stderr
  assert "batch 3/3: 1 point(s): beta_1e9" in p.stderr  # one at a time by default
  names = ["beta_1e5", "beta_1e7", "beta_1e9"]
  mtimes = {n: os.stat(out / f"{n}.wav").st_mtime_ns for n in names}
  os.remove(out / "beta_1e7.json")
  (out / "report.json").unlink()

  p = _script(*args, "--resume")
  assert p.returncode == 0, p.stderr
  assert "beta_1e5: skipped" in p.stderr and "beta_1e9: skipped" in p.stderr
  assert "batch 1/1: 1 point(s): beta_1e7" in p.stderr
  after = {n: os.stat(out / f"{n}.wav").st_mtime_ns for n in names}
  assert after["beta_1e5"] == mtimes["beta_1e5"] and after["beta_1e9"] == mtimes["beta_1e9"]
  assert after["beta_1e7"] > mtimes["beta_1e7"]
  with open(out / "report.json") as f:
    report = json.load(f)
  markdown = _check_report(out, report, names)
  assert report["missing"] == [] and report["quick"]
  assert "style_weight=1e+05" in markdown and "onset corr." in markdown
