"""Classifier pretraining of the style network; its checkpoints are `checkpoint`'s.

Huzaifah & Wyse (2019) pretrain the network on ESC-50 classification: fold 1 for
validation, folds 2-5 for training, Adam (lr 1e-3), batch 20, 30 epochs, cross-entropy.
`train` does this for any dataset in the ESC-50 layout:

  DATA_DIR/audio/*.wav
  DATA_DIR/meta/esc50.csv   columns filename, fold, target, category (others ignored)

A `Classifier` is `nets.StackedConv` (submodule `features`) -> global average pooling
-> dense logits. Only the `StackedConv` variables are saved (`checkpoint.save`).
"""

from collections.abc import Sequence
import csv
import dataclasses
import functools
import os
import time

from absl import logging
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxstyle import audio
from jaxstyle import checkpoint
from jaxstyle import config as config_lib
from jaxstyle import nets
from jaxstyle import outputs
from jaxstyle import spectral
from jaxstyle.errors import InputError

CSV_PATH = os.path.join("meta", "esc50.csv")
AUDIO_DIR = "audio"
CSV_COLUMNS = ("filename", "fold", "target", "category")


class Classifier(nn.Module):
  """`StackedConv` -> global average pooling -> `Dense(num_classes)`, for pretraining.

  The conv stacks are the submodule `features`, so `variables[...]["features"]` is
  exactly what `nets.StackedConv` with the same attributes expects; the `head` is used
  only in training.

  Attributes:
    num_classes: number of output logits.
    orientation, channels, kernel_size, pooling: as `nets.StackedConv`.
  """

  num_classes: int
  orientation: str = "freq"
  channels: Sequence[int] = (4096, 4096, 4096)
  kernel_size: int = 11
  pooling: str = "max"

  @nn.compact
  def __call__(self, x: jnp.ndarray, *, train: bool) -> jnp.ndarray:
    """Logits `[batch, num_classes]` of `x` (`[batch, *spatial, in_channels]`).

    With `train=True` batchnorm uses batch statistics and updates `batch_stats`
    (apply with `mutable=["batch_stats"]`); otherwise its running averages.
    """
    feats = nets.StackedConv(orientation=self.orientation, channels=self.channels,
                             kernel_size=self.kernel_size, pooling=self.pooling,
                             name="features")(x, train=train)
    last = feats[f"pool{len(self.channels)}"]
    pooled = jnp.mean(last, axis=tuple(range(1, last.ndim - 1)))
    return nn.Dense(self.num_classes, name="head")(pooled)


def classifier(c: ml_collections.ConfigDict, num_classes: int) -> Classifier:
  """The classifier around the network a config describes (`config.net_spec`)."""
  net = config_lib.net_spec(c).module()
  return Classifier(num_classes, orientation=net.orientation, channels=net.channels,
                    kernel_size=net.kernel_size, pooling=net.pooling)


@dataclasses.dataclass
class Dataset:
  """Network inputs of clips, with their labels.

  Attributes:
    inputs: `[clips, *spatial, in_channels]` float32 (`nets.net_input` of each clip's
      spectrogram `[time, freq]`).
    labels: `[clips]` int32 class indices (the csv's `target`).
    classes: class names (the csv's `category`), indexed by label.
  """

  inputs: np.ndarray
  labels: np.ndarray
  classes: list[str]


def _read_csv(data_dir: str) -> list[dict]:
  path = os.path.join(data_dir, CSV_PATH)
  if not os.path.isdir(data_dir):
    raise InputError(f"data directory not found: {data_dir}")
  if not os.path.isfile(path):
    raise InputError(f"{path} not found: a dataset in the ESC-50 layout has "
                     f"{os.path.join(AUDIO_DIR, '*.wav')} and {CSV_PATH}")
  with open(path, newline="") as f:
    reader = csv.DictReader(f)
    missing = [k for k in CSV_COLUMNS if k not in (reader.fieldnames or [])]
    if missing:
      raise InputError(f"{path} lacks column(s) {', '.join(missing)} "
                       f"(needs {', '.join(CSV_COLUMNS)}; has {reader.fieldnames})")
    rows = list(reader)
  for i, row in enumerate(rows, start=2):
    for key in ("fold", "target"):
      try:
        row[key] = int(row[key])
      except (TypeError, ValueError):
        raise InputError(f"{path}, line {i}: {key} must be an integer, got {row[key]!r}") from None
    if row["target"] < 0:
      raise InputError(f"{path}, line {i}: target must be >= 0, got {row['target']}")
  return rows


def load_dataset(data_dir: str, c: ml_collections.ConfigDict, *, val_fold: int = 1,
                 clip_s: float = 5.0) -> tuple[Dataset, Dataset]:
  """Reads an ESC-50-layout dataset as network inputs of the config's front-end and net.

  The csv and the audio files are checked before any clip is loaded. Each clip is
  loaded at `c.sample_rate`, cut or zero-padded to `clip_s`, turned into a
  network-scale spectrogram `[time, freq]` (`spectral.spectrogram`), then into the
  input of `c.net.orientation` (`nets.net_input`).

  Args:
    data_dir: dataset in the ESC-50 layout (see the module docstring).
    c: jaxstyle config (front-end and `net.orientation`).
    val_fold: the fold held out for validation; all other folds are for training.
    clip_s: clip length.

  Returns:
    `(training, validation)` datasets; both have every class name.

  Raises:
    InputError: missing directory, csv, column or audio file, a bad fold or target,
      or an empty training or validation set.
  """
  rows = _read_csv(data_dir)
  csv_path = os.path.join(data_dir, CSV_PATH)
  if all(row["fold"] == val_fold for row in rows):
    raise InputError(f"{csv_path} lists no training clips (folds other than the "
                     f"validation fold {val_fold})")
  if not any(row["fold"] == val_fold for row in rows):
    raise InputError(f"{csv_path} lists no clips in the validation fold {val_fold}")
  paths = [os.path.join(data_dir, AUDIO_DIR, row["filename"]) for row in rows]
  missing = [p for p in paths if not os.path.isfile(p)]
  if missing:
    raise InputError(f"{len(missing)} of the {len(paths)} audio files listed in {csv_path} "
                     f"are missing, e.g. {missing[0]}")
  n_samples = int(round(clip_s * c.sample_rate))
  spec_fn = jax.jit(functools.partial(spectral.spectrogram, n_fft=c.n_fft,
                                      hop_length=c.hop_length, log_max=c.log_max))
  inputs = []
  for path in paths:
    y = audio.load(path, sample_rate=c.sample_rate)[:n_samples]
    y = np.pad(y, (0, n_samples - y.size))
    inputs.append(np.asarray(nets.net_input(spec_fn(y), c.net.orientation)))
  inputs = np.stack(inputs)
  labels = np.array([row["target"] for row in rows], np.int32)
  is_val = np.array([row["fold"] == val_fold for row in rows])
  names = {row["target"]: row["category"] for row in rows}
  classes = [names.get(t, "") for t in range(max(names) + 1)]
  return (Dataset(inputs[~is_val], labels[~is_val], classes),
          Dataset(inputs[is_val], labels[is_val], classes))


def _spectrogram_shape(c: ml_collections.ConfigDict, clip_s: float) -> tuple[int, int]:
  """`(n_frames, n_freq)` of a clip of `clip_s`."""
  n_frames = spectral.num_frames(int(round(clip_s * c.sample_rate)),
                                 hop_length=c.hop_length, n_fft=c.n_fft)
  return n_frames, c.n_fft // 2 + 1


def train(
    c: ml_collections.ConfigDict,
    *,
    data_dir: str,
    output_path: str,
    epochs: int = 30,
    batch_size: int = 20,
    learning_rate: float = 1e-3,
    seed: int = 0,
    val_fold: int = 1,
    clip_s: float = 5.0,
) -> dict:
  """Pretrains the config's network as a classifier and writes its checkpoint.

  Adam (b1 .9, b2 .999, eps 1e-8) on the mean softmax cross-entropy, batchnorm in
  training mode; one jitted step for all batches (each epoch is shuffled and its last
  partial batch dropped). The checkpoint (`checkpoint.save`) holds the `StackedConv`
  variables after the last epoch, not the head.

  Args:
    c: jaxstyle config; its `net.*` and front-end (`sample_rate`, `n_fft`,
      `hop_length`, `log_max`) define what is trained.
    data_dir: dataset in the ESC-50 layout (see the module docstring).
    output_path: checkpoint file to write.
    epochs: passes over the training folds.
    batch_size: clips per step (at most the number of training clips).
    learning_rate: Adam's step size.
    seed: seed of the initial weights and of the shuffling.
    val_fold: the fold held out for validation; all other folds are trained on.
    clip_s: every clip is cut or zero-padded to this length.

  Returns:
    `{"history": {"train_loss", "train_accuracy", "val_accuracy", "seconds"}` (lists,
    one entry per epoch), `"val_accuracy"` (after the last epoch), `"classes"`,
    `"num_train"`, `"num_val"` and `"variables"` (the saved `StackedConv` variables).
  """
  config_lib.check(c)
  outputs.check_file(output_path, flag="--output")
  for key, value in {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
                     "clip_s": clip_s}.items():
    if not value > 0:
      raise InputError(f"{key} must be positive, got {value!r}")
  if clip_s * c.sample_rate < c.n_fft:
    raise InputError(f"clip_s={clip_s} is shorter than one frame "
                     f"(n_fft={c.n_fft} samples at {c.sample_rate} Hz)")
  n_frames, n_freq = _spectrogram_shape(c, clip_s)
  spatial, _ = nets.input_layout(c.net.orientation, n_frames, n_freq)
  if min(spatial) < 2**c.net.stacks:
    raise InputError(f"inputs of spatial shape {spatial} are too small for net.stacks="
                     f"{c.net.stacks} halving poolings (need {2**c.net.stacks} per axis); "
                     "use longer clips or fewer stacks")
  train_set, val_set = load_dataset(data_dir, c, val_fold=val_fold, clip_s=clip_s)
  x_train, y_train = train_set.inputs, train_set.labels
  x_val, y_val = val_set.inputs, val_set.labels
  classes = train_set.classes
  batch_size = min(batch_size, len(x_train))
  steps = len(x_train) // batch_size
  logging.info("%d training clips (%d steps of %d clips an epoch), %d validation clips (fold %d), "
               "%d classes, inputs %s", len(x_train), steps, batch_size, len(x_val), val_fold,
               len(classes), x_train.shape[1:])

  model = classifier(c, len(classes))
  variables = model.init(jax.random.key(seed), jnp.zeros((1, *x_train.shape[1:])),
                         train=False)
  params, batch_stats = variables["params"], variables["batch_stats"]
  tx = optax.adam(learning_rate, b1=0.9, b2=0.999, eps=1e-8)
  opt_state = tx.init(params)

  @jax.jit
  def train_step(params, batch_stats, opt_state, x, y):
    def loss_fn(params):
      logits, updates = model.apply({"params": params, "batch_stats": batch_stats}, x,
                                    train=True, mutable=["batch_stats"])
      loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
      return loss, (logits, updates["batch_stats"])

    (loss, (logits, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    correct = jnp.sum(jnp.argmax(logits, -1) == y)
    return optax.apply_updates(params, updates), batch_stats, opt_state, loss, correct

  @jax.jit
  def predict(params, batch_stats, x):
    logits = model.apply({"params": params, "batch_stats": batch_stats}, x, train=False)
    return jnp.argmax(logits, -1)

  # Validation in equal batches (one compilation); the padding clips are dropped.
  x_val_padded = np.concatenate(
      [x_val, np.zeros((-len(x_val) % batch_size, *x_val.shape[1:]), x_val.dtype)])
  rng = np.random.default_rng(seed)
  history = {"train_loss": [], "train_accuracy": [], "val_accuracy": [], "seconds": []}
  for epoch in range(1, epochs + 1):
    start = time.perf_counter()
    order = rng.permutation(len(x_train))[: steps * batch_size].reshape(steps, batch_size)
    losses, correct = [], 0
    for batch in order:
      params, batch_stats, opt_state, loss, n_correct = train_step(
          params, batch_stats, opt_state, x_train[batch], y_train[batch])
      losses.append(loss)
      correct += n_correct
    predictions = np.concatenate(
        [predict(params, batch_stats, x_val_padded[i : i + batch_size])
         for i in range(0, len(x_val_padded), batch_size)])[: len(x_val)]
    history["train_loss"].append(float(np.mean(jax.device_get(losses))))
    history["train_accuracy"].append(float(correct) / (steps * batch_size))
    history["val_accuracy"].append(float(np.mean(predictions == y_val)))
    history["seconds"].append(time.perf_counter() - start)
    logging.info("epoch %d/%d: train loss %.4f, train accuracy %.3f, validation accuracy "
                 "%.3f, %.1f s", epoch, epochs, *(history[k][-1] for k in history))

  features = {"params": params["features"], "batch_stats": batch_stats["features"]}
  checkpoint.save(output_path, features, c, n_frames=n_frames, n_freq=n_freq, training={
      "data_dir": os.path.abspath(data_dir), "classes": classes, "val_fold": val_fold,
      "clip_s": clip_s, "epochs": epochs, "batch_size": batch_size,
      "learning_rate": learning_rate, "seed": seed, "val_accuracy": history["val_accuracy"][-1]})
  logging.info("wrote %s (validation accuracy %.3f)", output_path, history["val_accuracy"][-1])
  return {"history": history, "val_accuracy": history["val_accuracy"][-1],
          "classes": classes, "num_train": len(x_train), "num_val": len(x_val),
          "variables": features}
