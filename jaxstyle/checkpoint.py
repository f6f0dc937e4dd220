"""Checkpoints of the style network's variables: save, load, and check them.

The `nets.StackedConv` variables (`params`, `batch_stats`) go into a msgpack file (never
pickle) that records the architecture and front-end they were trained with; `load` is
the one way to read them back, and it refuses a checkpoint that does not fit the
config's network. `train.train` writes them; `synthesis` and `experiments` read them.
"""

import os

from flax import serialization
from flax import traverse_util
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxstyle import config as config_lib
from jaxstyle import nets
from jaxstyle import outputs
from jaxstyle.errors import InputError

FORMAT = "jaxstyle.features"
VERSION = 1
# What a checkpoint must share with the config that loads it.
ARCHITECTURE_KEYS = ("net.orientation", "net.stacks", "net.channels", "net.kernel_size",
                     "net.pooling", "sample_rate", "n_fft", "hop_length", "log_max")
# What the input channels of each orientation are (see `nets.net_input`).
CHANNEL_NAMES = {"freq": "frequency bins", "time": "time frames", "2d": "image channels"}


def _architecture(c: ml_collections.ConfigDict) -> dict:
  return {key: config_lib.get(c, key) for key in ARCHITECTURE_KEYS}


def save(path: str, variables: dict, c: ml_collections.ConfigDict, *, n_frames: int,
         n_freq: int, training: dict | None = None) -> None:
  """Writes `StackedConv` variables of config `c` to a checkpoint, atomically.

  Args:
    path: checkpoint file (msgpack).
    variables: `{"params": ..., "batch_stats": ...}` of `config.net_spec(c).module()`.
    c: the config whose network and front-end produced them.
    n_frames, n_freq: the input spectrogram shape `[time, freq]` they were trained on.
    training: metadata to keep (numbers, strings, lists of them).
  """
  record = {
      "format": FORMAT,
      "version": VERSION,
      "architecture": _architecture(c) | {
          "in_channels": nets.input_layout(c.net.orientation, n_frames, n_freq)[1]},
      "training": training or {},
      "variables": jax.tree.map(np.asarray, {k: variables[k] for k in ("params", "batch_stats")}),
  }
  outputs.bytes_file(path, serialization.msgpack_serialize(record))


def load(path: str, c: ml_collections.ConfigDict, *, n_frames: int, n_freq: int) -> dict:
  """Reads a checkpoint and checks it against the network of config `c`.

  The recorded architecture and front-end must equal the config's, and the variables
  must have the tree structure and every leaf shape of freshly initialised variables
  of `config.net_spec(c).module()` for `[n_frames, n_freq]` spectrograms.

  Args:
    path: a checkpoint written by `save` (`train.train` does).
    c: a jaxstyle config.
    n_frames, n_freq: the spectrogram shape `[time, freq]` the network will see (only
      the input channels of the orientation matter: `n_freq` for `freq`, `n_frames`
      for `time`).

  Returns:
    `{"params": ..., "batch_stats": ...}` for `config.net_spec(c).module().apply`; the
    batchnorm statistics are those from training.

  Raises:
    InputError: missing, unreadable or foreign file, or any mismatch with the config,
      naming what differs.
  """
  config_lib.check(c)
  if not os.path.isfile(path):
    raise InputError(f"checkpoint not found: {path}")
  with open(path, "rb") as f:
    data = f.read()
  try:
    record = serialization.msgpack_restore(data)
  except (ValueError, TypeError) as e:
    raise InputError(f"cannot read checkpoint {path} (corrupt or not msgpack): {e}") from None
  if not (isinstance(record, dict) and record.get("format") == FORMAT
          and isinstance(record.get("architecture"), dict)
          and isinstance(record.get("variables"), dict)):
    raise InputError(f"{path} is not a jaxstyle network checkpoint")
  if record.get("version") != VERSION:
    raise InputError(f"checkpoint {path} has format version {record.get('version')}; "
                     f"this jaxstyle reads version {VERSION}")

  recorded, expected = record["architecture"], _architecture(c)
  differ = [f"{key}={recorded.get(key)!r} but the config has {expected[key]!r}"
            for key in ARCHITECTURE_KEYS if recorded.get(key) != expected[key]]
  if differ:
    raise InputError(f"checkpoint {path} does not fit the config: it has "
                     + "; ".join(differ))
  orientation = c.net.orientation
  in_channels = nets.input_layout(orientation, n_frames, n_freq)[1]
  if recorded.get("in_channels") != in_channels:
    hint = (" (the time orientation needs clips as long as the training clips)"
            if orientation == "time" else "")
    raise InputError(f"checkpoint {path} was trained on inputs with {recorded.get('in_channels')} "
                     f"{CHANNEL_NAMES[orientation]} as channels, but this input has "
                     f"{in_channels}{hint}")

  net = config_lib.net_spec(c)
  fresh = traverse_util.flatten_dict(
      jax.eval_shape(lambda: nets.random_variables(net, n_frames, n_freq)), sep="/")
  loaded = traverse_util.flatten_dict(record["variables"], sep="/")
  problems = [f"missing {k}" for k in fresh if k not in loaded]
  problems += [f"unexpected {k}" for k in loaded if k not in fresh]
  problems += [f"{k} has shape {np.shape(loaded[k])} but the network needs {fresh[k].shape}"
               for k in fresh if k in loaded and (not isinstance(loaded[k], np.ndarray)
                                                  or loaded[k].shape != fresh[k].shape)]
  if problems:
    raise InputError(f"checkpoint {path} does not fit the config's network: "
                     + "; ".join(problems))
  return traverse_util.unflatten_dict({k: jnp.asarray(v) for k, v in loaded.items()}, sep="/")


def variables(c: ml_collections.ConfigDict, n_frames: int, n_freq: int) -> dict:
  """The frozen network's variables for `[n_frames, n_freq]` spectrograms under config `c`:
  the checkpoint `c.params` (`load`), else random from `c.net.seed`."""
  if c.params:
    return load(c.params, c, n_frames=n_frames, n_freq=n_freq)
  return nets.random_variables(config_lib.net_spec(c), n_frames, n_freq)
