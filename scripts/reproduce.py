r"""Reproduces an experiment of Huzaifah & Wyse (2019) or Milacic (2020): every variant.

  python scripts/reproduce.py --list
  python scripts/reproduce.py --experiment=h19_beta --output_dir=out/h19_beta --quick
  python scripts/reproduce.py --experiment=h19_kernels --output_dir=out/k --style=speech.wav
  python scripts/reproduce.py --experiment=h19_weights_init --output_dir=out/wi --resume \
      --params=pretrained/huzaifah2019.msgpack

The experiments are configs/experiments/NAME.py (each docstring gives the paper's
section and its command). Writes OUTPUT_DIR/VARIANT.wav, .png and .json per variant,
then OUTPUT_DIR/report.md (a table of the variants and the figure grid), report.json
(everything per variant) and grid.png (the spectrograms). `--helpfull` lists every flag.
"""


from absl import flags

from jaxstyle import cli
from jaxstyle import experiments
from jaxstyle.errors import InputError

flags.DEFINE_bool("list", False, "Print each experiment's name and a one-line description, "
                  "then exit.")
flags.DEFINE_string("experiment", None, "Experiment to run, a name from --list "
                    "(configs/experiments/NAME.py).")
flags.DEFINE_string("output_dir", None, "Directory for each variant's VARIANT.wav, .png and "
                    ".json, the procedural inputs (inputs/) and report.md, report.json, grid.png.")
flags.DEFINE_list("style", [], "Style audio file(s), comma-separated; several form one "
                  "multi-texture target. Default: the experiment's procedural sounds.")
flags.DEFINE_string("content", None, "Content audio file (style transfer experiments only). "
                    "Default: the experiment's procedural sound.")
flags.DEFINE_bool("quick", False, "Quick mode: the experiment's tiny network, few iterations "
                  "and short clips: a smoke run of one to two minutes on a CPU, not the "
                  "paper's settings.")
flags.DEFINE_bool("resume", False, "Skip variants whose JSON in --output_dir is valid and from "
                  "the same settings; rebuild the reports from all of them.")
flags.DEFINE_string("params", None, "Checkpoint of scripts/train.py for the pretrained variants "
                    "(same network as the experiment). Required for them, except with --quick, "
                    "which trains a tiny classifier of procedural sounds if it is not given.")
flags.DEFINE_list("variants", None, "Run only these variants (comma-separated; default all). "
                  "The reports show every variant with a valid result in --output_dir.")
flags.DEFINE_integer("jobs_per_device", 1, "Variants run together per device. 1: each alone, "
                     "exactly as scripts/texture.py would run it. More: the variants that differ "
                     "only in loss weights (e.g. h19_beta's) run as one batched program, equal "
                     "to the one-at-a-time results up to floating-point rounding.")
flags.DEFINE_integer("seed", 0, "Seed of the noise init and of Griffin-Lim's initial phases "
                     "(the network's weights use config.net.seed).")
cli.define_compilation_cache()
flags.adopt_module_key_flags(cli)
FLAGS = flags.FLAGS


def main(argv: list[str]) -> int:
  if (status := cli.begin(argv)) is not None:
    return status
  return cli.guarded(_run)


def _run() -> None:
  if FLAGS.list:
    for name, description in experiments.describe():
      print(f"{name:18s} {description}")
    return
  if not FLAGS.experiment or not FLAGS.output_dir:
    raise InputError("--experiment and --output_dir are required (--list names the "
                     "experiments)")
  experiments.run(FLAGS.experiment, output_dir=FLAGS.output_dir, style_paths=FLAGS.style,
                  content_path=FLAGS.content, quick=FLAGS.quick, resume=FLAGS.resume,
                  params=FLAGS.params, seed=FLAGS.seed, variants=FLAGS.variants,
                  jobs_per_device=FLAGS.jobs_per_device)


def run() -> None:
  """The console command `jaxstyle-reproduce`."""
  cli.run_script(main, __name__)


if __name__ == "__main__":
  run()
