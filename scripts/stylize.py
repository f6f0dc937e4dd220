"""Audio style transfer: the content clip's structure with the style clip's timbre.

  python scripts/stylize.py --content=speech.mp3 --style=rooster.wav --output_dir=out
  python scripts/stylize.py --config=configs/milacic2020.py --content=a.wav --style=b.wav

Writes OUTPUT_DIR/NAME.wav, NAME.png (spectrograms and loss curve) and NAME.json
(config, loss history, final losses, seconds). `--helpfull` lists every flag.
"""

from absl import flags

from jaxstyle import cli


def run() -> None:
  """The console command `jaxstyle-stylize`."""
  cli.define_flags(content=True)
  flags.adopt_module_key_flags(cli)
  cli.run_script(cli.main, __name__)


if __name__ == "__main__":
  run()
