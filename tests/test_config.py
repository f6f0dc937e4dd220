"""Every config file loads and passes the checks; bad keys and values are refused."""

import glob
import os
import sys

import ml_collections
from ml_collections import config_flags  # noqa: F401  (the loader the scripts use)
import pytest

from jaxstyle import InputError
from jaxstyle import config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Synthesis configs; sweep configs (configs/sweep_*.py) are checked in test_sweep.py.
CONFIG_FILES = sorted(p for p in glob.glob(os.path.join(ROOT, "configs", "*.py"))
                      if not os.path.basename(p).startswith(("sweep_", "__")))


def _load(path):
  namespace = {}
  with open(path) as f:
    exec(compile(f.read(), path, "exec"), namespace)
  return namespace["get_config"]()


@pytest.mark.parametrize("path", CONFIG_FILES, ids=os.path.basename)
def test_config_files_pass_the_checks(path):
  c = _load(path)
  config.check(c)
  assert config.objective_spec(c).style_layers


def test_paper_settings():
  c = _load(os.path.join(ROOT, "configs", "huzaifah2019.py"))
  assert (c.net.orientation, c.net.channels, c.net.kernel_size, c.net.stacks) == (
      "freq", 4096, 11, 3)
  assert (c.n_fft, c.hop_length, c.sample_rate, c.iterations) == (1024, 256, 22050, 500)
  m = _load(os.path.join(ROOT, "configs", "milacic2020.py"))
  o = config.objective_spec(m)
  assert m.hop_length == 128 and o.content_layers == ("relu3",)
  assert o.style_layers == ("relu1", "relu2") and m.style_weight == 1e8


@pytest.mark.parametrize("key, value, message", [
    ("net.orientation", "diagonal", "net.orientation"),
    ("net.channels", 0, "net.channels"),
    ("net.conv", "winograd", "net.conv"),
    ("hop_length", 2048, "hop_length"),
    ("style_layers", "relu9", "needs 9 stacks"),
    ("content_layers", "blah2", "bad layer name"),
    ("solver", "adam", "solver"),
    ("phase_momentum", 1.5, "phase_momentum"),
    ("style_layers", "", "empty"),
    ("domain", "time", "domain"),
    ("parametrization", "exp", "parametrization"),
    ("noise_init", "pink", "noise_init"),
    ("net.kernel_sizes", "3,x", "comma-separated integers"),
    ("net.kernel_sizes", "3,0", "positive"),
    ("net.kernel_sizes", "3,3", "distinct"),
    ("spectrum_weight", -1.0, "spectrum_weight"),
    ("modulation_lags", 0, "modulation_lags"),
    ("diversity_threshold", 1.0, "diversity_threshold"),
    ("spectrogram=cqt,domain", "waveform", "needs spectrogram=stft"),
    ("spectrogram=cqt_map,noise_init", "spectrum", "needs spectrogram=stft"),
    ("net.orientation=2d,net.kernel_sizes", "3,5", "1D nets"),
    ("net.orientation=time,autocorrelation_weight", 1.0, "no time axis"),
])
def test_bad_values(key, value, message):
  c = config.base()
  *first, key = key.split(",")  # settings that make the value bad, then the key
  for setting in first:
    k, v = setting.split("=")
    c.update_from_flattened_dict({k: v})
  c.update_from_flattened_dict({key: value})
  with pytest.raises(InputError, match=message):
    config.check(c)


@pytest.mark.parametrize("bands, spectrogram, message", [
    (1, "stft", "at least 2"), (64, "stft", "hold no STFT bin"),
    (8, "cqt_map", "need spectrogram=stft")])
def test_bad_band_settings(bands, spectrogram, message):
  c = config.base()
  c.n_fft, c.hop_length, c.band_correlation_weight = 512, 128, 1.0
  c.bands, c.spectrogram = bands, spectrogram
  with pytest.raises(InputError, match=message):
    config.check(c)


def test_unknown_keys():
  c = config.base()
  c.iterationz = 3
  c.net.chanels = 3
  with pytest.raises(InputError, match="iterationz, net.chanels"):
    config.check(c)
  assert isinstance(c, ml_collections.ConfigDict)


def test_jaxopt_is_an_optional_extra_named_when_missing(monkeypatch):
  c = config.base()
  c.solver = "jaxopt"
  config.check(c)  # installed with the test extra
  monkeypatch.setitem(sys.modules, "jaxopt", None)  # as if not installed: import fails
  with pytest.raises(InputError, match=r"pip install 'jaxstyle\[jaxopt\]'"):
    config.check(c)
  c.solver = "optax"
  config.check(c)
