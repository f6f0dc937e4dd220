"""Tests of jaxstyle.train: classifier pretraining and checkpoints, on a tiny dataset."""

import csv
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
import soundfile as sf

from jaxstyle import checkpoint
from jaxstyle import config as config_lib
from jaxstyle import nets
from jaxstyle import train
from jaxstyle.errors import InputError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_RATE_HZ = 22050
CLIP_S = 0.5
N_FFT = 256
HOP_LENGTH = 128
# Frames and bins of a CLIP_S clip: 1 + samples // hop, n_fft // 2 + 1.
N_FRAMES = 1 + int(CLIP_S * SAMPLE_RATE_HZ) // HOP_LENGTH
N_FREQ = N_FFT // 2 + 1
CLASSES = ("tone", "hiss", "clicks")
FOLDS = (1, 2, 3)
CLIPS_PER_CLASS_AND_FOLD = 3


def tone(rng, n):
  """A low sine (150-300 Hz) with a random phase."""
  t = np.arange(n) / SAMPLE_RATE_HZ
  return 0.3 * np.sin(2 * np.pi * rng.uniform(150, 300) * t + rng.uniform(0, 2 * np.pi))


def hiss(rng, n):
  """Bursts of first-differenced (high-frequency) white noise."""
  noise = np.diff(rng.standard_normal(n + 1))
  gate = (np.arange(n) // int(rng.uniform(0.05, 0.1) * SAMPLE_RATE_HZ)) % 2
  return 0.1 * noise * gate


def clicks(rng, n):
  """An impulse train of 10-40 clicks per second."""
  y = np.zeros(n)
  y[int(rng.uniform(0, 0.02) * SAMPLE_RATE_HZ) :: int(SAMPLE_RATE_HZ / rng.uniform(10, 40))] = 0.8
  return y


def write_dataset(root, *, clip_s=CLIP_S):
  """Writes ROOT/audio/*.wav and ROOT/meta/esc50.csv in the ESC-50 layout."""
  rng = np.random.default_rng(0)
  os.makedirs(root / "audio")
  os.makedirs(root / "meta")
  rows = []
  for fold in FOLDS:
    for target, (name, make) in enumerate(zip(CLASSES, (tone, hiss, clicks), strict=True)):
      for i in range(CLIPS_PER_CLASS_AND_FOLD):
        filename = f"{fold}-{name}-{i}.wav"
        sf.write(root / "audio" / filename, make(rng, int(clip_s * SAMPLE_RATE_HZ)),
                 SAMPLE_RATE_HZ)
        rows.append({"filename": filename, "fold": fold, "target": target, "category": name})
  with open(root / "meta" / "esc50.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=["filename", "fold", "target", "category"])
    writer.writeheader()
    writer.writerows(rows)
  return root


def tiny_config(**net):
  c = config_lib.base()
  c.n_fft = N_FFT
  c.hop_length = HOP_LENGTH
  c.net.orientation = "freq"
  c.net.stacks = 1
  c.net.channels = 8
  c.net.kernel_size = 3
  c.style_layers = "relu1"
  c.content_layers = "relu1"
  c.net.update(net)
  return c


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
  return write_dataset(tmp_path_factory.mktemp("esc"))


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
  path = str(tmp_path_factory.mktemp("ckpt") / "net.msgpack")
  result = train.train(tiny_config(), data_dir=str(dataset), output_path=path, epochs=8,
                       batch_size=6, learning_rate=1e-2, clip_s=CLIP_S)
  return path, result


def test_classifier_learns(trained):
  _, result = trained
  assert result["num_train"] == 18 and result["num_val"] == 9
  assert result["classes"] == list(CLASSES)
  assert len(result["history"]["val_accuracy"]) == 8
  assert result["history"]["train_loss"][-1] < result["history"]["train_loss"][0]
  assert result["val_accuracy"] >= 0.8  # chance: 1/3


def test_classifier_variables_nest_the_network():
  model = train.classifier(tiny_config(), 3)
  variables = model.init(jax.random.key(0), np.zeros((2, N_FRAMES, N_FREQ)), train=False)
  net_variables = nets.random_variables(config_lib.net_spec(tiny_config()), N_FRAMES, N_FREQ)
  for collection in ("params", "batch_stats"):
    assert (jax.tree.structure(variables[collection]["features"])
            == jax.tree.structure(net_variables[collection]))
  logits, updates = model.apply(variables, np.ones((2, N_FRAMES, N_FREQ)), train=True,
                                mutable=["batch_stats"])
  assert logits.shape == (2, 3)
  assert set(updates["batch_stats"]) == {"features"}


def test_checkpoint_round_trip(trained, dataset):
  path, result = trained
  c = tiny_config()
  loaded = checkpoint.load(path, c, n_frames=N_FRAMES, n_freq=N_FREQ)
  net = config_lib.net_spec(c).module()
  _, val = train.load_dataset(str(dataset), c, clip_s=CLIP_S)
  x = val.inputs[:4]
  want, got = net.apply(result["variables"], x), net.apply(loaded, x)
  for tap in want:
    np.testing.assert_array_equal(got[tap], want[tap])
  # Batchnorm statistics come from training, not from init (mean 0, variance 1).
  stats = loaded["batch_stats"]["bn1"]
  assert np.all(np.asarray(stats["mean"]) != 0)
  assert not np.allclose(stats["var"], 1)


@pytest.mark.parametrize("field, value", [
    ("channels", 16), ("kernel_size", 5), ("orientation", "2d"), ("stacks", 2),
    ("pooling", "avg")])
def test_load_refuses_other_architecture(trained, field, value):
  path, _ = trained
  with pytest.raises(InputError, match=f"net.{field}="):
    checkpoint.load(path, tiny_config(**{field: value}), n_frames=N_FRAMES, n_freq=N_FREQ)


def test_load_refuses_other_front_end(trained):
  path, _ = trained
  c = tiny_config()
  c.hop_length = 64
  with pytest.raises(InputError, match="hop_length=128 but the config has 64"):
    checkpoint.load(path, c, n_frames=N_FRAMES, n_freq=N_FREQ)


def test_load_checks_against_fresh_init(tmp_path):
  # Variables of a wider net recorded under the tiny config's architecture.
  path = str(tmp_path / "mislabelled.msgpack")
  wide = nets.random_variables(config_lib.net_spec(tiny_config(channels=16)), N_FRAMES, N_FREQ)
  checkpoint.save(path, wide, tiny_config(), n_frames=N_FRAMES, n_freq=N_FREQ)
  with pytest.raises(InputError, match=r"params/conv1/kernel has shape \(3, 129, 16\) but the "
                     r"network needs \(3, 129, 8\)"):
    checkpoint.load(path, tiny_config(), n_frames=N_FRAMES, n_freq=N_FREQ)
  del wide["batch_stats"]["bn1"]["var"]
  checkpoint.save(path, wide, tiny_config(channels=16), n_frames=N_FRAMES, n_freq=N_FREQ)
  with pytest.raises(InputError, match="missing batch_stats/bn1/var"):
    checkpoint.load(path, tiny_config(channels=16), n_frames=N_FRAMES, n_freq=N_FREQ)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", None])
def test_load_refuses_bad_file(trained, tmp_path, content):
  bad = tmp_path / "bad.msgpack"
  if content is None:  # Truncated.
    with open(trained[0], "rb") as f:
      content = f.read(100)
  bad.write_bytes(content)
  with pytest.raises(InputError, match="bad.msgpack"):
    checkpoint.load(str(bad), tiny_config(), n_frames=N_FRAMES, n_freq=N_FREQ)
  with pytest.raises(InputError, match="not found"):
    checkpoint.load(str(tmp_path / "none.msgpack"), tiny_config(), n_frames=N_FRAMES,
                         n_freq=N_FREQ)


def _drop_column(root):
  path = root / "meta" / "esc50.csv"
  path.write_text("\n".join(",".join(line.split(",")[:2]) for line in path.read_text().split("\n")))


def _drop_audio(root):
  os.remove(root / "audio" / "2-hiss-1.wav")


def _only_fold_1(root):
  path = root / "meta" / "esc50.csv"
  lines = path.read_text().splitlines()
  path.write_text("\n".join(lines[:1] + [ln for ln in lines[1:] if ln.split(",")[1] == "1"]) + "\n")


@pytest.mark.parametrize("corrupt, message", [
    (lambda root: os.remove(root / "meta" / "esc50.csv"), "esc50.csv not found"),
    (_drop_column, "lacks column"),
    (_drop_audio, "2-hiss-1.wav"),
    (_only_fold_1, "no training clips"),
])
def test_bad_dataset(tmp_path, corrupt, message):
  root = write_dataset(tmp_path / "esc", clip_s=0.1)
  corrupt(root)
  with pytest.raises(InputError, match=message):
    train.train(tiny_config(), data_dir=str(root), output_path=str(tmp_path / "x.msgpack"),
                clip_s=0.1)
  assert not os.path.exists(tmp_path / "x.msgpack")


def _script(*args):
  return subprocess.run([sys.executable, os.path.join(REPO, "scripts", "train.py"), *args],
                        capture_output=True, text=True, timeout=120, cwd=REPO)


def test_script_end_to_end(dataset, tmp_path):
  out = tmp_path / "pretrained.msgpack"
  proc = _script(f"--data_dir={dataset}", f"--output={out}", "--epochs=2", "--batch_size=9",
                 "--clip_s=0.5", "--config.n_fft=256", "--config.hop_length=128",
                 "--config.net.stacks=1", "--config.net.channels=8",
                 "--config.net.kernel_size=3", "--config.style_layers=relu1",
                 "--config.content_layers=relu1")
  assert proc.returncode == 0, proc.stderr
  assert "epoch 2/2" in proc.stderr
  c = tiny_config()
  variables = checkpoint.load(str(out), c, n_frames=N_FRAMES, n_freq=N_FREQ)
  x = nets.net_input(np.zeros((N_FRAMES, N_FREQ), np.float32), "freq")[None]
  assert config_lib.net_spec(c).module().apply(variables, x)["relu1"].shape == (1, N_FRAMES, 8)


def test_script_missing_data_dir(tmp_path):
  proc = _script(f"--data_dir={tmp_path / 'nowhere'}", f"--output={tmp_path / 'x.msgpack'}")
  assert proc.returncode == 1
  errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and "data directory not found" in errors[0], proc.stderr
