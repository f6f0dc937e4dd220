"""Pretrains the style network as a sound classifier; writes its weights for synthesis.

  python scripts/train.py --data_dir=ESC-50 --output=pretrained/esc50.msgpack
  python scripts/train.py --config=configs/huzaifah2019.py --data_dir=ESC-50 \
      --output=pretrained/huzaifah2019.msgpack --epochs=30 --batch_size=20

DATA_DIR is in the ESC-50 layout (audio/*.wav, meta/esc50.csv with the columns filename,
fold, target, category). The network and front-end come from the config; the checkpoint
holds only the conv stacks' weights and batchnorm statistics, with the architecture
they fit. `--helpfull` lists every flag.
"""

import os

from absl import flags

from jaxstyle import cli
from jaxstyle import config
from jaxstyle import train

cli.define_config(
    os.path.join(config.CONFIGS_DIR, "gram_only.py"),
    "Config file (configs/*.py) whose net.* and front-end (sample_rate, n_fft, hop_length, "
    "log_max) define the network to train. Override any key with --config.KEY=VALUE, e.g. "
    "--config.net.channels=4096; unknown keys are refused.")
flags.DEFINE_string("data_dir", None, "Dataset in the ESC-50 layout: audio/*.wav and "
                    "meta/esc50.csv (columns filename, fold, target, category).", required=True)
flags.DEFINE_string("output", None, "Checkpoint file to write (msgpack), e.g. "
                    "pretrained/esc50.msgpack.", required=True)
flags.DEFINE_integer("epochs", 30, "Passes over the training folds.")
flags.DEFINE_integer("batch_size", 20, "Clips per training step.")
flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")
flags.DEFINE_integer("seed", 0, "Seed of the initial weights and of the shuffling.")
flags.DEFINE_integer("val_fold", 1, "Fold held out for validation; the others are trained on.")
flags.DEFINE_float("clip_s", 5.0, "Every clip is cut or zero-padded to this length.")
FLAGS = flags.FLAGS


def main(argv: list[str]) -> int:
  if (status := cli.begin(argv)) is not None:
    return status
  return cli.guarded(lambda: train.train(
      FLAGS.config, data_dir=FLAGS.data_dir, output_path=FLAGS.output, epochs=FLAGS.epochs,
      batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate, seed=FLAGS.seed,
      val_fold=FLAGS.val_fold, clip_s=FLAGS.clip_s))


def run() -> None:
  """The console command `jaxstyle-train`."""
  cli.run_script(main, __name__)


if __name__ == "__main__":
  run()
