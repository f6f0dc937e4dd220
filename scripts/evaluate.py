"""Objective quality of a synthesized sound against its reference(s), printed as JSON.

  python scripts/evaluate.py --reference=style.wav --candidate=out/texture.wav
  python scripts/evaluate.py --reference=a.wav,b.wav --candidate=mix.wav --content=speech.wav

Measures (jaxstyle/metrics.py): texture-statistics distance (McDermott & Simoncelli
style), Gram distance in an independent random network, log-mel distance, share of
copied 250 ms segments; with --content, onset correlation and log-mel distance to it.
"""

import json
import sys

from absl import flags

from jaxstyle import audio
from jaxstyle import cli
from jaxstyle import metrics
from jaxstyle.errors import InputError

flags.DEFINE_list("reference", [], "Style reference audio file(s), comma-separated (several: "
                  "a multi-texture reference).")
flags.DEFINE_string("candidate", None, "The synthesized audio file to judge.", required=True)
flags.DEFINE_string("content", None, "Content audio file of a style transfer (optional).")
flags.DEFINE_integer("sample_rate", 22050, "Rate (Hz) all files are resampled to.")
flags.DEFINE_integer("n_fft", 1024, "FFT size (samples) of the spectral measures.")
flags.DEFINE_integer("hop_length", 256, "Hop (samples) of the spectral measures.")
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    print(f"error: unexpected arguments {argv[1:]}", file=sys.stderr)
    return 2
  return cli.guarded(_run)


def _run() -> None:
  if not FLAGS.reference and not FLAGS.content:
    raise InputError("give --reference and/or --content")
  load = lambda p: audio.check(audio.load(p, sample_rate=FLAGS.sample_rate), name=p,  # noqa: E731
                               n_fft=FLAGS.n_fft)
  result = metrics.evaluate(
      load(FLAGS.candidate), sample_rate=FLAGS.sample_rate,
      style=[load(p) for p in FLAGS.reference] or None,
      content=load(FLAGS.content) if FLAGS.content else None,
      n_fft=FLAGS.n_fft, hop_length=FLAGS.hop_length)
  print(json.dumps(result, indent=1))


def run() -> None:
  """The console command `jaxstyle-evaluate`."""
  cli.run_script(main, __name__)


if __name__ == "__main__":
  run()
