"""Sweeps: over 4 host devices, resumed, and split over two `jax.distributed` processes."""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

from jaxstyle import InputError
from jaxstyle import api
from jaxstyle import audio
from jaxstyle import config
from jaxstyle import examples
from jaxstyle import grid
from jaxstyle import representation
from jaxstyle import spectral
from tests.test_scripts import ROOT
from tests.test_scripts import _wav

CONFIG = """
import ml_collections
from jaxstyle import grid

def get_config():
  sc = grid.base()
  c = sc.config
  c.n_fft, c.hop_length = 256, 64
  c.net.stacks, c.net.channels, c.style_layers, c.content_layers = 1, 16, "relu1", "relu1"
  c.iterations, c.log_every, c.phase_iterations = 6, 3, 5
  sc.duration_s = 0.4
  sc.max_jobs_per_device = 1
  sc.grid = ml_collections.ConfigDict(
      {{"net": {{"kernel_size": (3, 5)}}, "style": {styles!r}, "seed": (0, 1, 2)}})
  return sc
"""


def _sweep(config, out, *args, devices=4, cache):
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
  return subprocess.Popen(
      [sys.executable, os.path.join(ROOT, "scripts", "sweep.py"), f"--config={config}",
       f"--output_dir={out}", f"--compilation_cache={cache}", *args],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)


def _wait(process):
  _, stderr = process.communicate(timeout=300)
  assert process.returncode == 0, stderr
  return stderr


def _summary(out):
  with open(os.path.join(out, "summary.json")) as f:
    summary = json.load(f)
  return [{k: v for k, v in row.items() if k not in ("seconds", "process")}
          for row in summary["points"]]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
  """A 12-point sweep (2 kernel widths x 2 style clips x 3 seeds) on 4 host devices."""
  d = tmp_path_factory.mktemp("sweep")
  styles = (_wav(d / "rain.wav", examples.birds_and_rain(duration_s=0.5, seed=1)),
            _wav(d / "tones.wav", examples.tones(duration_s=0.7, seed=2)))
  config = d / "sweep_tiny.py"
  config.write_text(CONFIG.format(styles=styles))
  out, cache = d / "out", d / "cache"
  stderr = _wait(_sweep(config, out, cache=cache))
  return {"config": config, "out": out, "cache": cache, "stderr": stderr}


def test_sweep_on_four_devices_equals_the_points_run_alone(swept):
  # Each kernel width is one group of 6 points: a batch of 4 and one of 2 padded to 4.
  assert "on 4 device(s)" in swept["stderr"] and swept["stderr"].count("batch ") >= 4
  sc = _load(swept["config"])
  points = grid.points(sc)
  assert len(points) == 12 and len({p.name for p in points}) == 12
  assert _summary(swept["out"]) and all(row["done"] for row in _summary(swept["out"]))
  for p in points:
    with open(swept["out"] / f"{p.name}.json") as f:
      record = json.load(f)
    assert record["point"]["settings"] == p.settings and record["seconds"]["jobs"] in (4, 2)
    y = audio.load(p.style, sample_rate=p.config.sample_rate)
    n_frames = spectral.num_frames(int(round(p.duration_s * p.config.sample_rate)),
                                   hop_length=p.config.hop_length, n_fft=p.config.n_fft)
    r = config.representation_spec(p.config)
    alone = api.synthesize(p.config, style=[representation.analyze(y, r)], n_frames=n_frames,
                           seed=p.seed)
    np.testing.assert_allclose(record["history"]["total"], alone.history["total"], rtol=2e-3)


def test_resume_redoes_only_the_missing_points(swept, tmp_path):
  out = tmp_path / "out"
  shutil.copytree(swept["out"], out)
  jsons = sorted(glob.glob(str(out / "0*.json")))
  os.remove(jsons[1])  # killed before its JSON
  os.remove(jsons[7])
  os.remove(jsons[7].replace(".json", ".wav"))
  with open(jsons[10], "w") as f:
    f.write('{"truncated": ')  # not valid JSON: redone
  redo = {jsons[i] for i in (1, 7, 10)}
  mtimes = {p: os.stat(p).st_mtime_ns for p in jsons if p not in redo}
  stderr = _wait(_sweep(swept["config"], out, "--resume", cache=swept["cache"]))
  assert "3 to run" in stderr
  assert all(os.stat(p).st_mtime_ns == t for p, t in mtimes.items())
  assert all(os.path.isfile(p) for p in redo)
  before, after = _summary(swept["out"]), _summary(out)
  for row_before, row_after in zip(before, after, strict=True):
    assert row_after.keys() == row_before.keys()
    for k, v in row_before.items():
      if k.startswith("final_"):
        np.testing.assert_allclose(row_after[k], v, rtol=2e-3)
      else:
        assert row_after[k] == v
  # Nothing left to do: no batch, no change.
  mtimes = {p: os.stat(p).st_mtime_ns for p in jsons}
  stderr = _wait(_sweep(swept["config"], out, "--resume", cache=swept["cache"]))
  assert "0 to run" in stderr and "batch " not in stderr
  assert all(os.stat(p).st_mtime_ns == t for p, t in mtimes.items())


def test_two_processes_split_the_grid(swept, tmp_path):
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  out = tmp_path / "out"
  grid = ["--config.grid.net.kernel_size=(5,)", "--config.grid.seed=(0,)"]
  processes = [_sweep(swept["config"], out, f"--coordinator=127.0.0.1:{port}",
                      "--num_processes=2", f"--process_id={i}", *grid, devices=1,
                      cache=swept["cache"]) for i in range(2)]
  for i, process in enumerate(processes):
    stderr = _wait(process)
    assert f"process {i} of 2: 1 of the 2 points" in stderr
  rows = _summary(out)
  assert [row["done"] for row in rows] == [True, True]
  owners = {}
  for path in glob.glob(str(out / "0*.json")):
    with open(path) as f:
      point = json.load(f)["point"]
    owners[point["index"]] = point["process_index"]
  assert owners == {0: 0, 1: 1}


def test_sweep_configs_and_bad_grids(tmp_path):
  for path in glob.glob(os.path.join(ROOT, "configs", "sweep_*.py")):
    assert grid.points(_load(path))
  sc = grid.base()
  sc.grid.no_such_key = (1, 2)
  with pytest.raises(InputError, match="grid.no_such_key"):
    grid.points(sc)
  sc = grid.base()
  sc.grid.iterations = ()
  with pytest.raises(InputError, match="non-empty"):
    grid.points(sc)
  sc = grid.base()
  sc.grid.net = {"pooling": ("max", "median")}
  with pytest.raises(InputError, match="net.pooling"):
    grid.points(sc)


def test_points_and_process_shares():
  sc = grid.base()
  sc.grid.style_weight = (1e8, 1e9)
  sc.grid.seed = (0, 1, 2)
  points = grid.points(sc)
  assert [p.settings for p in points[:2]] == [{"seed": 0, "style_weight": 1e8},
                                              {"seed": 0, "style_weight": 1e9}]
  assert points[5].seed == 2 and points[5].config.style_weight == 1e9
  assert points[0].name == "0000_seed=0_style_weight=1e+08"
  shares = [grid.process_share(points, process_index=i, process_count=3) for i in range(3)]
  assert sorted(p.index for s in shares for p in s) == list(range(6))
  assert [p.index for p in shares[1]] == [1, 4]


def _load(path):
  namespace = {}
  with open(path) as f:
    exec(compile(f.read(), str(path), "exec"), namespace)
  return namespace["get_config"]()
