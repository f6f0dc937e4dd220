"""The scripts' shared set-up: the flags and main of `scripts/texture.py` and
`scripts/stylize.py`; for every script, `--compilation_cache`, the process set-up
(`begin`: plain log lines, `keep_freed_memory`, `enable_compilation_cache`, SIGTERM as
Ctrl-C), the one `InputError` -> `error:` wrapper (`guarded`), `run_script` (a
script's `--help` from its console command too) and the umbrella command `jaxstyle`.
"""

import ast
from collections.abc import Callable
import ctypes
import importlib
import importlib.util
import logging as std_logging
import os
import signal
import sys

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

from jaxstyle import blocks
from jaxstyle import config
from jaxstyle import curves
from jaxstyle import inputs
from jaxstyle import outputs
from jaxstyle import pipeline
from jaxstyle.errors import InputError


def enable_compilation_cache(path: str | None = None) -> None:
  """Turns on JAX's persistent compilation cache (default `~/.cache/jaxstyle/jax`)."""
  path = path or os.path.join(os.path.expanduser("~"), ".cache", "jaxstyle", "jax")
  jax.config.update("jax_compilation_cache_dir", path)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def keep_freed_memory() -> bool:
  """Makes this process keep the memory it frees for reuse instead of returning it (glibc).

  XLA:CPU allocates a fresh buffer for each large intermediate of each evaluation (e.g.
  the 38 MB im2col of the paper's conv2). glibc serves blocks that large with `mmap` and
  unmaps them on free, so every evaluation pays the page faults of touching them again:
  about 10% of the paper texture setting (BUILD.md). This is glibc's
  `MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...` (as the PyTorch peer's tuned mode),
  set from inside the process; resident memory then stays near its peak until exit.
  The scripts call it; a library user may.

  Returns:
    Whether it took effect (False where the C library has no `mallopt`).
  """
  try:
    mallopt = ctypes.CDLL(None).mallopt
  except (OSError, AttributeError):
    return False
  m_trim_threshold, m_mmap_max, m_arena_max = -1, -4, -8  # glibc <malloc.h>
  return all(mallopt(option, value) == 1 for option, value in (
      (m_arena_max, 1), (m_mmap_max, 0), (m_trim_threshold, 2**31 - 1)))


def define_config(default: str, help_text: str) -> None:
  """Defines `--config` (a config file, `--config.KEY=VALUE` overrides, locked).

  ml_collections reads the overrides while the flag is defined; an unknown key there
  prints one `error:` line naming it and exits with status 2, as other flag errors do.
  """
  try:
    config_flags.DEFINE_config_file("config", default, help_text, lock_config=True)
  except (AttributeError, KeyError) as e:
    key = str(e).strip("\"'")
    flag = next((a.split("=")[0] for a in sys.argv[1:]
                 if a.startswith("--config.") and key in a.split("=")[0].split(".")), key)
    print(f"error: unknown config key in {flag} (--helpfull lists the keys)", file=sys.stderr)
    sys.exit(2)


def define_flags(*, content: bool) -> None:
  """Defines the flags of a synthesis script; `content` adds `--content`."""
  define_config(
      os.path.join(config.CONFIGS_DIR, "stylize.py" if content else "default.py"),
      "Config file (configs/*.py; default: "
      + ("stylize.py, the papers' objective with spectrum and band statistics" if content
         else "default.py, the texture objective on a small net") + "). "
      "Override any key with --config.KEY=VALUE, e.g. --config.iterations=500 "
      "--config.net.kernel_size=101; unknown keys are refused.")
  flags.DEFINE_list("style", [], "Style audio file(s), comma-separated (wav, flac, ogg, mp3; "
                    "any rate and channels). Several files form one multi-texture target."
                    + ("" if content else " Default: a built-in procedural example sound."))
  if content:
    flags.DEFINE_string("content", None, "Content audio file (required).", required=True)
  else:
    flags.DEFINE_bool("loop", False, "Make a seamless loop (sets config.loop): the texture's "
                      "end runs into its start without a click; its length is rounded up to "
                      "a multiple of hop_length * 2**net.stacks samples (at most a few tens "
                      "of ms). The record's quality.seam measures the join. Net orientations "
                      "freq and 2d, spectrograms stft and cqt_map.")
    flags.DEFINE_list("weights", None, "One weight per --style file (e.g. 0.7,0.3): the "
                      "texture's targets are the weighted barycentre of the files' targets, "
                      "whatever their lengths (distributions averaged quantile by quantile). "
                      "Default: the files' frames pooled, so a longer file weighs more.")
    flags.DEFINE_list("morph_to", None, "Style file(s) to morph into: the output starts with "
                      "--style's statistics and ends with these, along --morph_curve; made in "
                      f"blocks of at most {blocks.MORPH_BLOCK_S:g} s, each with its own targets "
                      "(distributions move quantile by quantile, Grams and correlations "
                      "linearly, the long-term spectrum in log magnitude). Not with --loop.")
    flags.DEFINE_string("morph_curve", "linear", "The share of --morph_to over time: linear "
                        "or smooth (slow at both ends), each 0 in the first block and 1 in "
                        "the last, or a CSV file of seconds,share lines (shares in [0, 1], "
                        "times increasing; read at each block's middle).")
    flags.DEFINE_string("level_db", None, "A level curve in dB applied to the output: a number, "
                        "or a CSV file of seconds,dB lines (linear in between, held beyond).")
    flags.DEFINE_string("tilt_db_per_octave", None, "A brightness curve applied to the output, "
                        "in dB per octave about 1 kHz (positive: brighter): a number, or a CSV "
                        "file of seconds,value lines.")
    flags.DEFINE_integer("channels", 1, "1: mono; 2: a stereo texture, two textures mixed so "
                         "that their coherence and level difference in 16 ERB bands follow "
                         "the stereo style files' (mono styles: a diffuse field, coherence "
                         "0.8 at 370 Hz, 0 at 1 kHz). Twice the synthesis time; the record's "
                         "quality.stereo compares the result with its target.",
                         lower_bound=1, upper_bound=2)
  flags.DEFINE_float("duration_s", None,
                     "Seconds of output. Texture: default the longest style clip; any length "
                     "for net.orientation=freq or 2d, the style's length for time; longer than "
                     "config.block_s (30 s; --config.block_s=S) it is made in blocks that "
                     "continue each other, in the memory of one block (e.g. --duration_s=600). "
                     "Style transfer: the content is cut to this length (default: all of it).")
  flags.DEFINE_float("offset_s", 0.0, "Seconds into each style file where the part used starts.",
                     lower_bound=0.0)
  flags.DEFINE_float("clip_s", None, "Seconds of each style file used, from --offset_s (default: "
                     "to its end): pick the part of a long recording to take the style from.")
  flags.DEFINE_string("output_dir", "out", "Directory for NAME.wav (or .flac, .ogg), NAME.png "
                      "and NAME.json.")
  flags.DEFINE_enum("format", "wav", outputs.CONTAINERS, "Container of the output audio: wav, "
                    "flac (lossless, smaller) or ogg (Vorbis, lossy).")
  flags.DEFINE_enum("subtype", "PCM_16", outputs.SUBTYPES, "Sample format of the output: 16- or "
                    "24-bit integers, or 32-bit float (wav only); ogg is Vorbis and takes none.")
  flags.DEFINE_integer("output_rate", 0, "Sample rate (Hz) of the output file, resampled with "
                       "librosa from the config's sample_rate; 0: the config's.", lower_bound=0)
  flags.DEFINE_string("name", None, "Output file stem (default: from the input file names).")
  flags.DEFINE_integer("seed", 0, "Seed of the noise init and of Griffin-Lim's initial phases "
                       "(the network's weights use config.net.seed).")
  flags.DEFINE_integer("batch", 1,
                       "Syntheses to run together in one compiled program, split over the local "
                       "devices: seeds --seed, --seed+1, ..., written as NAME_seedK.wav/png/json. "
                       "With --config.batch_styles=True each --style file is a target of its own "
                       "(one output per style and seed) instead of all forming one mixed "
                       "target; texture outputs then have one length (--duration_s, else the "
                       "shortest style)."
                       + (" With config.init=content the seeds change only the phase." if content
                          else ""), lower_bound=1)
  define_compilation_cache()


def define_compilation_cache() -> None:
  """Defines `--compilation_cache`, which `begin` turns on."""
  flags.DEFINE_string("compilation_cache", os.path.join("~", ".cache", "jaxstyle", "jax"),
                      "Directory of JAX's persistent compilation cache, so a second run does "
                      "not recompile; empty to disable.")


class _Plain(std_logging.Formatter):
  """A log record as a person reads it: the message alone (`warning: ...` above INFO),
  not absl's line of time, thread and source."""

  def format(self, record: std_logging.LogRecord) -> str:
    text = record.getMessage()
    if record.levelno >= std_logging.WARNING:
      text = f"{record.levelname.lower()}: {text}"
    if record.exc_info:
      text += "\n" + self.formatException(record.exc_info)
    return text


def _interrupt(signum, frame):
  """SIGTERM as Ctrl-C: the atomic writers' clean-up runs, so no temporary file is left."""
  raise KeyboardInterrupt(f"signal {signum}")


def begin(argv: list[str]) -> int | None:
  """The start of every long-running script's main: refuses positional arguments
  (returns exit status 2 after one `error:` line), logs plain lines (details at
  `--verbosity=1`), hides JAX's start-up notices, takes SIGTERM as Ctrl-C, keeps freed
  memory (`keep_freed_memory`) and turns on `--compilation_cache` where the script
  defines it. Returns None when the script should go on."""
  if len(argv) > 1:
    print(f"error: unexpected arguments {argv[1:]} (flags are --name=value)", file=sys.stderr)
    return 2
  logging.get_absl_handler().python_handler.setFormatter(_Plain())
  if logging.get_verbosity() < 1:  # JAX's start-up notices (no TPU here, ...) are not ours
    std_logging.getLogger("jax").setLevel(std_logging.WARNING)
  signal.signal(signal.SIGTERM, _interrupt)
  keep_freed_memory()
  f = flags.FLAGS
  if "compilation_cache" in f and f.compilation_cache:
    enable_compilation_cache(os.path.expanduser(f.compilation_cache))
  return None


def run_script(main: Callable[[list[str]], int | None], module: str) -> None:
  """Runs a script's `main` under absl (`app.run`). From a console command, where
  `__main__` is pip's wrapper, the script's module (`module`, its `__name__`) stands
  in for it, so `--help` shows the script's docstring and its own flags, as
  `python scripts/NAME.py --help` does."""
  script, wrapper = sys.modules[module], sys.modules["__main__"]
  if script is not wrapper:
    wrapper.__doc__ = script.__doc__
    for flag in flags.FLAGS.get_key_flags_for_module(module):
      flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
  app.run(main)


# The umbrella command's subcommands: `jaxstyle NAME` runs `scripts/MODULE.py`.
COMMANDS = {"texture": "texture", "stylize": "stylize", "sweep": "sweep", "train": "train",
            "evaluate": "evaluate", "evaluate-set": "evaluate_set", "reproduce": "reproduce",
            "benchmark": "benchmark"}


def _summary(module: str) -> str:
  """The first line of a script's docstring, read without importing it (its flags)."""
  path = importlib.util.find_spec(f"jaxstyle.scripts.{module}").origin
  with open(path) as f:
    return (ast.get_docstring(ast.parse(f.read())) or "").splitlines()[0]


def umbrella() -> None:
  """The console command `jaxstyle COMMAND [flags]`: `jaxstyle texture ...` is
  `jaxstyle-texture ...`; `jaxstyle --help` lists the commands."""
  args = sys.argv[1:]
  if not args or args[0] in ("-h", "--help", "help") or args[0] not in COMMANDS:
    out = sys.stdout if args and args[0] in ("-h", "--help", "help") else sys.stderr
    if args and args[0] not in ("-h", "--help", "help"):
      print(f"error: unknown command {args[0]!r}", file=out)
    print("usage: jaxstyle COMMAND [flags]   (jaxstyle COMMAND --help: its flags)\n\n"
          "Audio texture synthesis and style transfer in JAX. Commands:", file=out)
    for name, module in COMMANDS.items():
      print(f"  {name:<13} {_summary(module)}", file=out)
    sys.exit(0 if out is sys.stdout else 2)
  module = importlib.import_module(f"jaxstyle.scripts.{COMMANDS[args[0]]}")
  sys.argv = [f"{os.path.basename(sys.argv[0])} {args[0]}", *args[1:]]
  module.run()


def guarded(run: Callable[[], object]) -> int:
  """A script's exit status for `run()`: 0, or 1 after one `error:` line naming the bad
  input when it raises `InputError`."""
  try:
    run()
  except InputError as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  return 0


def main(argv: list[str]) -> int:
  """Runs `pipeline.run` (`run_batch` for --batch or batch_styles) from the flags.

  A bad input prints one `error:` line and exits 1.
  """
  if (status := begin(argv)) is not None:
    return status
  f = flags.FLAGS
  if "loop" in f and f.loop:
    f.config.loop = True
  return guarded(lambda: _run(f))


def _run(f: flags.FlagValues) -> None:
  kwargs = dict(style_paths=f.style,
                content_path=f["content"].value if "content" in f else None,
                duration_s=f.duration_s, output_dir=f.output_dir, name=f.name, seed=f.seed,
                offset_s=f.offset_s, clip_s=f.clip_s,
                output=outputs.Output(f.format, f.subtype, f.output_rate))
  channels = f["channels"].value if "channels" in f else 1
  variation = _variation(f) if "morph_to" in f else inputs.STILL
  if f.batch > 1 or f.config.batch_styles:
    if channels > 1:
      raise InputError("--channels=2 makes one stereo texture at a time: drop --batch and "
                       "config.batch_styles")
    if variation != inputs.STILL:
      raise InputError("--weights, --morph_to, --level_db and --tilt_db_per_octave make one "
                       "texture at a time: drop --batch and config.batch_styles")
    pipeline.run_batch(f.config, batch=f.batch, **kwargs)
  else:
    pipeline.run(f.config, channels=channels, variation=variation, **kwargs)


def _variation(f: flags.FlagValues) -> inputs.Variation:
  """The texture flags' `inputs.Variation`."""
  try:
    weights = None if f.weights is None else tuple(float(w) for w in f.weights)
  except ValueError:
    raise InputError(f"--weights must be numbers, got {','.join(f.weights)}") from None
  curve = lambda flag, **bounds: None if f[flag].value is None else inputs.curve(  # noqa: E731
      f[flag].value, name=f"--{flag}", **bounds)
  shape = f.morph_curve if f.morph_curve in curves.MORPH_CURVES else curve(
      "morph_curve", low=0.0, high=1.0)
  return inputs.Variation(weights, tuple(f.morph_to or ()), shape, curve("level_db"),
                          curve("tilt_db_per_octave"))
