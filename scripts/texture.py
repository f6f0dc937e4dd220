"""Audio texture synthesis: a new sound with the statistics of the style clip(s).

  python scripts/texture.py                              # built-in example sound
  python scripts/texture.py --style=rain.wav --duration_s=15 --output_dir=out
  python scripts/texture.py --config=configs/huzaifah2019.py --style=a.wav,b.wav

Writes OUTPUT_DIR/NAME.wav, NAME.png (spectrograms and loss curve) and NAME.json
(config, loss history, final losses, seconds). `--helpfull` lists every flag.
"""

from absl import flags

from jaxstyle import cli


def run() -> None:
  """The console command `jaxstyle-texture`."""
  cli.define_flags(content=False)
  flags.adopt_module_key_flags(cli)
  cli.run_script(cli.main, __name__)


if __name__ == "__main__":
  run()
