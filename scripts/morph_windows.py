"""A morph between two recordings measured in successive windows, beside plain textures.

  python scripts/morph_windows.py --style=../shared/textures/rain.mp3 \\
      --morph_to=../shared/textures/fire.mp3 --duration_s=60 --output_dir=out/morph

From each recording an --excerpt_s excerpt centred in its first half (as
scripts/evaluate_set.py takes its style excerpts): a --duration_s morph from the first
to the second (texture.py --morph_to), cut into --window_s windows, each scored by the
texture-statistics distance to both excerpts and by the objective against the targets
halfway between them; plain textures of each (one window long) and mixes by weight
0.8 / 0.2 both ways, scored the same (jaxstyle/evaluation.py morph_windows). Prints a
Markdown table and writes every window and texture as OUTPUT_DIR/NAME.wav, with the
commands that score them in an independent judge (../shared/judge, if present).
"""

import os

from absl import flags
import numpy as np

from jaxstyle import audio
from jaxstyle import cli
from jaxstyle import evaluation
from jaxstyle import outputs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cli.define_config(os.path.join(ROOT, "configs", "texture.py"),
                  "Config file of the textures (default configs/texture.py).")
flags.DEFINE_string("style", None, "The recording the morph starts from.", required=True)
flags.DEFINE_string("morph_to", None, "The recording the morph ends on.", required=True)
flags.DEFINE_float("duration_s", 60.0, "Seconds of the morph.")
flags.DEFINE_float("window_s", 4.0, "Seconds of each measured window (and plain texture).")
flags.DEFINE_float("excerpt_s", 4.0, "Seconds of each recording's style excerpt.")
flags.DEFINE_integer("seed", 0, "Seed of every texture.")
flags.DEFINE_string("output_dir", "out/morph", "Where the windows and textures go.")
cli.define_compilation_cache()
flags.adopt_module_key_flags(cli)
FLAGS = flags.FLAGS


def main(argv: list[str]) -> int:
  if (status := cli.begin(argv)) is not None:
    return status
  return cli.guarded(_run)


def _run() -> None:
  outputs.check_directory(FLAGS.output_dir)
  c = FLAGS.config
  n = int(round(FLAGS.excerpt_s * c.sample_rate))
  a, b = (evaluation.excerpts(audio.check(audio.load(p, sample_rate=c.sample_rate), name=p,
                                          n_fft=c.n_fft), n_samples=n, name=p)[0]
          for p in (FLAGS.style, FLAGS.morph_to))
  out = evaluation.morph_windows(c, a, b, duration_s=FLAGS.duration_s, window_s=FLAGS.window_s,
                                 seed=FLAGS.seed)
  for name, y in out["audio"].items():
    outputs.audio(os.path.join(FLAGS.output_dir, f"{name}.wav"), y, sample_rate=c.sample_rate)
  rows = out["rows"]
  print("| window | from s | stats to A | stats to B | objective vs halfway targets |")
  print("|---|---|---|---|---|")
  for k, r in enumerate(rows):
    print(f"| {k} | {r['start_s']:.0f} | {r['stats_a']:.3f} | {r['stats_b']:.3f} | "
          f"{r['barycentre_loss']:.4g} |")
  for name, (to_a, to_b) in [*((f"plain texture of {k.upper()}", v) for k, v in
                               out["plain"].items()),
                             *((f"mix {w:g} A / {1 - w:g} B", v) for w, v in out["mix"].items())]:
    print(f"| {name} | - | {to_a:.3f} | {to_b:.3f} | - |")
  order = lambda v: int(np.sum(np.diff(v) < 0))  # noqa: E731
  print(f"\nwindows out of order: {order([r['stats_a'] for r in rows])} (distance to A should "
        f"rise), {order([-r['stats_b'] for r in rows])} (to B should fall)")
  judge = os.path.normpath(os.path.join(ROOT, "..", "shared", "judge", "judge"))
  if os.path.exists(judge):
    files = " ".join(f"{FLAGS.output_dir}/{k}.wav" for k in out["audio"] if k != "morph")
    for ref in ("style_a", "style_b"):
      print(f"{judge} {FLAGS.output_dir}/{ref}.wav {files}")


def run() -> None:
  cli.run_script(main, __name__)


if __name__ == "__main__":
  run()
