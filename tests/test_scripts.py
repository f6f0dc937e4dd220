"""The scripts end to end in a subprocess, and every bad input they must refuse."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import jaxstyle
from jaxstyle import InputError
from jaxstyle import blocks
from jaxstyle import examples
from jaxstyle import pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--config.n_fft=256", "--config.hop_length=64", "--config.bands=8",
        "--config.net.channels=16", "--config.net.kernel_size=5", "--config.iterations=8",
        "--config.phase_iterations=5", "--config.refine_iterations=0",
        "--config.auditory_weight=0", "--compilation_cache="]  # without the waveform stage
WAVEFORM_STAGE = ["--config.refine_iterations=2",  # the default's weight, briefly
                  f"--config.auditory_weight={jaxstyle.load_config('default').auditory_weight}"]


def _script(name, *args):
  return subprocess.run([sys.executable, os.path.join(ROOT, "scripts", name), *args],
                        capture_output=True, text=True, cwd=ROOT, timeout=300)


def _wav(path, y, rate=22050):
  sf.write(str(path), y, rate, subtype="FLOAT" if str(path).endswith(".wav") else None)
  return str(path)


def _check_outputs(out_dir, name, seconds):
  assert sorted(os.listdir(out_dir)) == [f"{name}.{e}" for e in ("json", "png", "wav")]
  y, rate = sf.read(os.path.join(out_dir, f"{name}.wav"))
  assert abs(y.size / rate - seconds) < 0.01 and np.max(np.abs(y)) > 1e-3
  with open(os.path.join(out_dir, f"{name}.png"), "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  with open(os.path.join(out_dir, f"{name}.json")) as f:
    record = json.load(f)
  assert record["sample_rate"] == rate and record["config"]["iterations"] == 8
  assert len(record["history"]["total"]) == 9
  assert record["final_losses"]["style"] < record["initial_losses"]["style"]
  quality = record["quality"]
  assert 0 <= quality["spectral_convergence"] < 1
  assert 0 <= quality["style"]["copy"]["fraction"] <= 1 and quality["style"]["gram"] > 0
  return record


def test_texture_script_multi_style_duration_and_loop(tmp_path):
  a = _wav(tmp_path / "a.wav", examples.birds_and_rain(duration_s=1.0, seed=1))
  b = _wav(tmp_path / "b.flac", examples.tones(duration_s=0.6, sample_rate=44100, seed=2), 44100)
  out = tmp_path / "out"
  p = _script("texture.py", f"--style={a},{b}", "--duration_s=2.5", "--loop",
              f"--output_dir={out}", *TINY)
  assert p.returncode == 0, p.stderr
  assert "iteration 8/8" in p.stderr and "left" in p.stderr  # progress with time left
  record = _check_outputs(out, "a_b", 2.5)
  assert record["task"] == "texture" and record["style"] == [a, b]
  # A ring of whole hops and pool pairs (64 * 2 samples), its join measured.
  assert record["config"]["loop"] and round(record["duration_s"] * 22050) % 128 == 0
  assert record["quality"]["seam"]["flux"] > 0


def test_texture_script_long_output_in_blocks(tmp_path):
  a = _wav(tmp_path / "a.wav", examples.birds_and_rain(duration_s=1.5, seed=1))
  out = tmp_path / "out"
  p = _script("texture.py", f"--style={a}", "--duration_s=5", "--config.block_s=2.5",
              f"--output_dir={out}", *TINY)
  assert p.returncode == 0, p.stderr
  c = jaxstyle.load_config("default")
  c.n_fft, c.hop_length, c.block_s = 256, 64, 2.5
  plan = blocks.plan(jaxstyle.config.representation_spec(c), c.block_s, 5 * 22050)
  assert plan.n_blocks == 4 and "block 4/4 done" in p.stderr
  record = _check_outputs(out, "a", 5.0)  # no temporary file left beside them
  assert len(record["blocks"]) == 4 and record["peak_memory_mib"] > 0
  assert all(b["final_total"] > 0 and b["iterations"] == 8 for b in record["blocks"])
  quality = record["quality"]
  assert quality["last_minute"]["texture_stats"]["total"] > 0
  # Every join with its measuring window (half a block either side) inside the output.
  expected = [s / 22050 for s, _ in blocks.joins(plan) if s + plan.step // 2 <= 5 * 22050]
  assert [j["at_s"] for j in quality["joins"]["each"]] == pytest.approx(expected)
  assert len(expected) >= 2
  assert all(j[at]["flux"] > 0 for j in quality["joins"]["each"] for at in ("start", "middle"))


def test_stylize_script(tmp_path):
  content = _wav(tmp_path / "c.wav", examples.tones(duration_s=1.5, seed=3))
  style = _wav(tmp_path / "s.wav", examples.birds_and_rain(duration_s=1.0, seed=4))
  out = tmp_path / "out"
  p = _script("stylize.py", f"--content={content}", f"--style={style}", f"--output_dir={out}",
              "--name=st", *TINY)
  assert p.returncode == 0, p.stderr
  record = _check_outputs(out, "st", 1.5)
  # Content init: the start is the content (up to the log variable's floor, -100 dB).
  assert record["task"] == "style_transfer" and record["initial_losses"]["content"] < 1e-9
  assert -1 <= record["quality"]["content"]["onset_correlation"] <= 1


def test_texture_script_formats_stereo_and_a_part_of_the_style(tmp_path):
  style = examples.birds_and_rain(duration_s=2.0, seed=1)
  a = _wav(tmp_path / "a.wav", style)
  out = tmp_path / "out"
  p = _script("texture.py", f"--style={a}", "--offset_s=0.5", "--clip_s=1.0", "--format=flac",
              "--subtype=PCM_24", "--output_rate=16000", "--channels=2", f"--output_dir={out}",
              *TINY)
  assert p.returncode == 0, p.stderr
  assert sorted(os.listdir(out)) == ["a.flac", "a.json", "a.png"]
  info = sf.info(str(out / "a.flac"))
  assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_24",
                                                                         16000, 2)
  assert abs(info.duration - 1.0) < 0.01  # as long as the part of the style used
  with open(out / "a.json") as f:
    record = json.load(f)
  assert record["output"] == {"file": "a.flac", "format": "flac", "subtype": "PCM_24",
                              "sample_rate": 16000}
  assert abs(record["duration_s"] - 1.0) < 0.01
  # A mono style: the channels follow a diffuse field.
  assert record["channels"] == 2 and record["quality"]["stereo"]["target"]["source"] == "diffuse"


def test_help_explains_every_flag():
  p = _script("texture.py", "--helpshort")
  for flag in ("--style", "--duration_s", "--output_dir", "--seed", "--name", "--config",
               "--offset_s", "--clip_s", "--format", "--subtype", "--output_rate",
               "--[no]loop", "--channels"):
    assert flag in p.stdout


@pytest.mark.parametrize("args, message", [
    (["--style=/nonexistent.wav"], "not found"),
    (["--config.no_such_key=1"], "no_such_key"),
    (["--config.net.orientation=time", "--duration_s=3"], "time frames as channels"),
    (["--config.net.pooling=median"], "net.pooling"),
    (["--config.net.no_such_key=1"], "--config.net.no_such_key"),
    (["--style=,"], "empty file name"),
    (["--duration_s=1e12"], "shorter --duration_s"),
    (["--style=STYLE", "--offset_s=5"], "past its end"),
    (["--style=STYLE", "--clip_s=0.001"], "too short"),
    (["--format=flac", "--subtype=FLOAT"], "integer samples"),
    (["--format=ogg", "--subtype=PCM_24"], "Vorbis"),
    (["--output_rate=50"], "output rate"),
    (["--loop", "--config.net.orientation=time"], "config.loop needs a time axis"),
    (["--channels=2", "--batch=2"], "one stereo texture at a time"),
    (["--duration_s=60", "--channels=2"], "stereo textures up to config.block_s"),
])
def test_script_bad_input_is_one_error_line(tmp_path, args, message):
  out = tmp_path / "out"
  style = _wav(tmp_path / "style.wav", examples.tones(duration_s=1.0, seed=5))
  args = [a.replace("STYLE", style) for a in args]
  p = _script("texture.py", f"--output_dir={out}", *TINY, *args)
  assert p.returncode != 0
  assert message in p.stderr and "Traceback" not in p.stderr
  assert [line for line in p.stderr.splitlines() if line.startswith("error:")]
  assert not out.exists()


@pytest.mark.parametrize("script, flag, extra", [
    ("texture.py", "--output_dir", TINY),
    ("stylize.py", "--output_dir", ["--content=CLIP", "--style=CLIP", *TINY]),
    ("sweep.py", "--output_dir", ["--config=configs/sweep_demo.py"]),
    ("reproduce.py", "--output_dir", ["--experiment=h19_beta", "--quick"]),
    ("evaluate_set.py", "--output_dir", ["--textures=DIR"]),
    ("train.py", "--output", ["--data_dir=DIR"]),
    ("benchmark.py", "--output", ["--quick"]),
])
@pytest.mark.parametrize("where, message", [("file", "is a file, not a directory"),
                                            ("under_file", "cannot be made")])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
    tmp_path, script, flag, extra, where, message):
  blocker = tmp_path / "blocker"
  blocker.write_text("not a directory")
  out = blocker if where == "file" else blocker / "out"
  if flag == "--output":  # a file: refused when it cannot be made in its directory
    out = blocker / "x.json" if where == "file" else blocker / "sub" / "x.json"
    message = "is a file, not a directory"
  clip = _wav(tmp_path / "clip.wav", examples.tones(duration_s=1.0, seed=5))
  extra = [a.replace("CLIP", clip).replace("DIR", str(tmp_path)) for a in extra]
  p = _script(script, f"{flag}={out}", *extra)
  errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
  assert p.returncode == 1 and len(errors) == 1 and message in errors[0], p.stderr[-2000:]
  assert "Traceback" not in p.stderr and "iteration" not in p.stderr  # no synthesis began
  assert blocker.read_text() == "not a directory"


def test_the_no_argument_run_says_little(tmp_path):
  # The built-in example on a tiny net: a few plain lines, no JAX start-up notice.
  p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "texture.py"), *TINY,
                      *WAVEFORM_STAGE], capture_output=True, text=True, cwd=tmp_path, timeout=300)
  assert p.returncode == 0, p.stderr
  lines = p.stderr.splitlines()
  assert len(lines) <= 12 and "refining the waveform: 2 L-BFGS iterations" in p.stderr, p.stderr
  assert "tpu" not in p.stderr.lower() and not any(len(line) > 150 for line in lines)
  assert lines[0].startswith("a texture of example") and "iteration 8/8: loss" in p.stderr
  assert lines[-1].startswith("wrote out/example.wav, out/example.png, out/example.json (")
  with open(tmp_path / "out" / "example.json") as f:
    record = json.load(f)
  assert set(record["final_losses"]) >= {"total", "style", "spectrum", "band_spectrum"}
  p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "texture.py"), *TINY,
                      "--verbosity=1"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
  assert "band_spectrum" in p.stderr and "quality measures: {" in p.stderr  # the terms


@pytest.fixture
def bad_files(tmp_path):
  good = examples.tones(duration_s=1.0, seed=5)
  corrupt = tmp_path / "corrupt.wav"
  corrupt.write_bytes(b"RIFF" + os.urandom(300))
  return {
      "missing": (str(tmp_path / "missing.wav"), "not found"),
      "corrupt": (str(corrupt), "cannot read"),
      "silent": (_wav(tmp_path / "silent.wav", np.zeros(22050)), "silent"),
      "short": (_wav(tmp_path / "short.wav", good[:100]), "too short"),
      "nan": (_wav(tmp_path / "nan.wav", np.where(np.arange(22050) == 5, np.nan, good)), "NaN"),
  }


@pytest.mark.parametrize("which", ["missing", "corrupt", "silent", "short", "nan"])
@pytest.mark.parametrize("role", ["style", "content"])
def test_bad_audio_is_refused_before_any_output(tiny, tmp_path, bad_files, which, role):
  path, message = bad_files[which]
  good = _wav(tmp_path / "good.wav", examples.tones(duration_s=1.0, seed=6))
  out = tmp_path / "out"
  kwargs = {"style_paths": [good], "content_path": path} if role == "content" else {
      "style_paths": [good, path]}
  with pytest.raises(InputError, match=message):
    pipeline.run(tiny, output_dir=str(out), **kwargs)
  assert not out.exists()


def test_bad_durations(tiny, tmp_path):
  good = _wav(tmp_path / "good.wav", examples.tones(duration_s=1.0, seed=6))
  for duration, message in ((0.001, "too short"), (float("nan"), "too short")):
    with pytest.raises(InputError, match=message):
      pipeline.run(tiny, style_paths=[good], duration_s=duration, output_dir=str(tmp_path))
  with pytest.raises(InputError, match="longer than the content"):
    pipeline.run(tiny, style_paths=[good], content_path=good, duration_s=2.0,
                 output_dir=str(tmp_path))
  tiny.loop = True
  with pytest.raises(InputError, match="not a loop"):
    pipeline.run(tiny, style_paths=[good], content_path=good, output_dir=str(tmp_path))
  assert os.listdir(tmp_path) == ["good.wav"]


def test_long_outputs_refused_where_blocks_cannot_make_them(tiny, tmp_path):
  good = _wav(tmp_path / "good.wav", examples.tones(duration_s=1.0, seed=6))
  out = str(tmp_path / "out")
  kwargs = dict(style_paths=[good], duration_s=60.0, output_dir=out)
  with pytest.raises(InputError, match="--batch makes outputs up to config.block_s"):
    pipeline.run_batch(tiny, batch=2, **kwargs)
  for key, value, message in (("domain", "waveform", "made in blocks, which need"),
                              ("block_s", 1.0, "too short for blocks"),
                              ("block_s", float("nan"), "config.block_s must be a positive")):
    c = tiny.copy_and_resolve_references()
    c[key] = value
    with pytest.raises(InputError, match=message):
      pipeline.run(c, **kwargs)
  with pytest.raises(InputError, match="needs about .* GiB on the disk"):
    pipeline.run(tiny, style_paths=[good], duration_s=1e9, output_dir=out)
  assert os.listdir(tmp_path) == ["good.wav"]


def test_evaluate_script(tmp_path):
  ref = _wav(tmp_path / "ref.wav", examples.birds_and_rain(duration_s=1.5, seed=7))
  copy = _wav(tmp_path / "copy.wav", examples.birds_and_rain(duration_s=1.5, seed=7))
  other = _wav(tmp_path / "other.wav", examples.tones(duration_s=1.5, seed=8))
  results = {}
  for name, cand in (("copy", copy), ("other", other)):
    p = _script("evaluate.py", f"--reference={ref}", f"--candidate={cand}")
    assert p.returncode == 0, p.stderr
    results[name] = json.loads(p.stdout)["style"]
  assert results["copy"]["copy"]["fraction"] == 1.0 and results["other"]["copy"]["fraction"] < 0.5
  assert results["copy"]["gram"] < 1e-6 < results["other"]["gram"]
  p = _script("evaluate.py", f"--reference={tmp_path / 'missing.wav'}", f"--candidate={copy}")
  assert p.returncode == 1 and p.stderr.strip().startswith("error:") and "not found" in p.stderr


def test_keep_freed_memory_stops_page_faults_on_reuse():
  # XLA's intermediates are allocated and freed on worker threads at every evaluation;
  # by default glibc maps large blocks there afresh (a page fault per 4 KiB touched).
  code = """
import ctypes, resource, sys, threading
from jaxstyle import cli
if sys.argv[1] == "keep":
  assert cli.keep_freed_memory()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
faults = []
def work():
  for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(100 << 20)
    ctypes.memset(block, 1, 100 << 20)
    libc.free(block)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
t = threading.Thread(target=work)
t.start()
t.join()
print(sum(faults[1:]))
"""
  faults = {mode: int(subprocess.run([sys.executable, "-c", code, mode], capture_output=True,
                                     text=True, check=True).stdout)
            for mode in ("default", "keep")}
  assert faults["default"] > 40_000  # two fresh 100 MB blocks: about 2 x 24,400 pages
  assert faults["keep"] < faults["default"] / 10
