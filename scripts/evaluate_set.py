"""Texture quality on a set of real recordings, beside baselines, in one run.

  python scripts/evaluate_set.py --config=configs/texture.py --output_dir=out/quality
  python scripts/evaluate_set.py --config=configs/texture.py --compare=configs/gram_only.py \\
      --compare=configs/texture.py:spectrum_weight=0 --output_dir=out/q
  python scripts/evaluate_set.py --sample_rate=16000 --output_dir=out/quality_16k

For each recording of --textures (default ../shared/textures beside the clone): a
--excerpt_s style excerpt from its first half and a held-out one from its second half;
a texture of each method from the style excerpt; scores against both excerpts
(jaxstyle/evaluation.py). Baselines in the same run: the held-out excerpt itself,
noise shaped to the style's spectrum, and a 100 ms chunk shuffle of the style with
10 ms cross-fades. --sample_rate band-limits the recordings: every config runs at that
rate and the recordings are resampled to it (default: the configs' own rate).
Writes OUTPUT_DIR/report.md, report.json, grid.png and RECORDING/METHOD.wav.
"""

import os
import sys

from absl import flags
from absl import logging

from jaxstyle import cli
from jaxstyle import config
from jaxstyle import evaluation
from jaxstyle import outputs
from jaxstyle import reports
from jaxstyle.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_string("config", os.path.join(config.CONFIGS_DIR, "texture.py"),
                    "The config under test, PATH[:KEY=VALUE...] (dotted keys, e.g. "
                    "configs/texture.py:net.channels=256).")
flags.DEFINE_multi_string("compare", [], "Another config scored in the same run, "
                          "PATH[:KEY=VALUE...]; repeat the flag for more rows, e.g. "
                          "--compare=configs/gram_only.py --compare=configs/texture.py:"
                          "spectrum_weight=0 (one row per objective piece).")
flags.DEFINE_string("textures", os.path.join(ROOT, "..", "shared", "textures"),
                    "Directory of texture recordings (wav, flac, ogg, mp3), each at least "
                    "twice --excerpt_s long (default: ../shared/textures beside the clone).")
flags.DEFINE_string("output_dir", "out/quality", "Where the report, figure and WAVs go.")
flags.DEFINE_float("excerpt_s", 4.0, "Length of the style excerpt, held-out excerpt and "
                   "textures; at least 2 (the dips compare each frame with the second around it).")
flags.DEFINE_integer("sample_rate", 0, "Run every config at this rate (Hz, at least 8000) and "
                     "resample the recordings to it, e.g. 16000 to band-limit them; 0: the "
                     "configs' own rate.")
flags.DEFINE_integer("limit", 0, "Use only the first N recordings (0: all).", lower_bound=0)
flags.DEFINE_integer("seed", 0, "Seed of every method's noise.")
cli.define_compilation_cache()
flags.adopt_module_key_flags(cli)
FLAGS = flags.FLAGS


def main(argv):
  if (status := cli.begin(argv)) is not None:
    return status
  return cli.guarded(_run)


def _run() -> None:
  outputs.check_directory(FLAGS.output_dir)
  if FLAGS.sample_rate and not FLAGS.sample_rate >= 8000:
    raise InputError(f"--sample_rate must be 0 (the configs' rate) or at least 8000 Hz, "
                     f"got {FLAGS.sample_rate}")
  configs = [evaluation.method_config(s, sample_rate=FLAGS.sample_rate)
             for s in [FLAGS.config, *FLAGS.compare]]
  rates = {c.sample_rate for _, c in configs}
  if len(rates) > 1:
    raise InputError(f"all configs need one sample_rate (or give --sample_rate), "
                     f"got {sorted(rates)}")
  rate = rates.pop()
  if not FLAGS.excerpt_s >= 2:
    raise InputError(f"--excerpt_s must be at least 2 s (the dips compare each frame with "
                     f"the second around it), got {FLAGS.excerpt_s}")
  paths = evaluation.recordings(FLAGS.textures)[: FLAGS.limit or None]
  methods = evaluation.baselines(sample_rate=rate, seed=FLAGS.seed) + [
      evaluation.config_method(n, c, seed=FLAGS.seed) for n, c in configs]
  report = evaluation.run(paths, methods, sample_rate=rate, excerpt_s=FLAGS.excerpt_s)
  command = " ".join(["python", *sys.argv])
  reports.harness(report, FLAGS.output_dir, command=command, sample_rate=rate)
  logging.info("wrote %s", os.path.join(FLAGS.output_dir, "report.md"))
  print(reports.harness_markdown(report, command=command))


def run() -> None:
  """The console command `jaxstyle-evaluate-set`."""
  cli.run_script(main, __name__)


if __name__ == "__main__":
  run()
