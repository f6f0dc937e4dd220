"""The three ways to run one synthesis give one result: the script, a sweep point and
an experiment variant write the same WAV bytes for one config and seed."""

import json
import os

import ml_collections

from jaxstyle import examples
from jaxstyle import experiments
from jaxstyle import grid
from jaxstyle import sweep
from tests.test_scripts import TINY
from tests.test_scripts import _script
from tests.test_scripts import _wav

CONFIG_FILE = """
import json
import ml_collections

def get_config():
  with open({path!r}) as f:
    return ml_collections.ConfigDict(json.load(f)["config"])
"""


def test_script_sweep_point_and_experiment_variant_write_the_same_audio(tmp_path):
  style = _wav(tmp_path / "style.wav", examples.babble(duration_s=1.0, seed=4))
  seed = 3
  # Noise shaped to the style's spectrum over the output's samples: 1 s is not a whole
  # number of hops, so a start of `hop * (frames - 1)` samples would differ.
  tiny = {"net.channels": 16, "iterations": 4, "phase_iterations": 3, "noise_init": "spectrum"}
  record = experiments.run("h19_kernels", output_dir=str(tmp_path / "e"), style_paths=[style],
                           quick=True, seed=seed, variants=["freq_k11"], overrides=tiny)
  (variant,) = record["variants"]
  c = ml_collections.ConfigDict(variant["record"]["config"])

  config_file = tmp_path / "variant_config.py"
  config_file.write_text(CONFIG_FILE.format(path=str(tmp_path / "e" / "freq_k11.json")))
  p = _script("texture.py", f"--config={config_file}", f"--style={style}", f"--seed={seed}",
              f"--output_dir={tmp_path / 's'}", "--name=freq_k11", TINY[-1])
  assert p.returncode == 0, p.stderr

  sc = grid.base()
  sc.config = c
  sc.style, sc.seed = style, seed
  sc.grid = ml_collections.ConfigDict({"seed": (seed,)})
  summary = sweep.run(sc, output_dir=str(tmp_path / "g"))
  (point,) = summary["points"]

  wavs = [tmp_path / "e" / "freq_k11.wav", tmp_path / "s" / "freq_k11.wav",
          tmp_path / "g" / f"{point['name']}.wav"]
  data = [w.read_bytes() for w in wavs]
  assert len(data[0]) > 20_000
  assert data[1] == data[0], "script"
  assert data[2] == data[0], "sweep"
  with open(os.path.join(tmp_path, "s", "freq_k11.json")) as f:
    assert json.load(f)["config"] == variant["record"]["config"]

