"""Every code block of the README: Python blocks run as written; every `python
scripts/NAME.py ...` command of the shell blocks parses (its flags and `--config.KEY`
overrides exist, its `--config` file loads) against the script it names."""

import json
import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(ROOT, "README.md")) as f:
  README = f.read()


def _commands() -> list[list[str]]:
  commands = []
  for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
    for line in block.replace("\\\n", " ").splitlines():
      for part in line.split("#")[0].split("&&"):
        words = shlex.split(part)
        if words[:2] and words[0] == "python" and words[1].startswith("scripts/"):
          commands.append(words[1:])
  return commands


def _python_blocks() -> list[str]:
  blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
  assert len(blocks) == 3
  return blocks


def test_readme_library_block_runs():
  api = {}
  exec(compile(_python_blocks()[0], "README.md", "exec"), api)
  c = api["c"]
  assert api["texture"].shape == (8 * c.sample_rate,) and np.all(np.isfinite(api["texture"]))
  assert api["speech_in_birds"].shape == (2 * api["s"].sample_rate,)
  assert np.std(api["texture"]) > 0 and np.std(api["speech_in_birds"]) > 0


def test_readme_jax_blocks_run():
  blocks, jax_, core = _python_blocks(), {}, {}
  exec(compile(blocks[1], "README.md", "exec"), jax_)
  exec(compile(blocks[2], "README.md", "exec"), jax_ | core)
  # In the user's jit and vmap (one program for both calls): textures that differ, each
  # lowering its loss.
  two, each = jax_["two"], jax_["one_each"]
  assert not np.allclose(two.audio[0], two.audio[1]) and np.all(np.isfinite(two.audio))
  assert each.audio.shape == two.audio.shape
  assert jax_["generate"]._cache_size() == 1
  assert np.all(each.history["total"][:, -1] < each.history["total"][:, 0])


# Each command in turn, in one process: its script's console entry point with `app.run`
# parsing the flags only; then the script's flags are removed and its module forgotten,
# so the next command defines them afresh (config overrides are read at definition).
_PARSE = """
import importlib, json, sys
from absl import app, flags
absl_flags = set(flags.FLAGS)

def parse_only(main, argv=None):
  rest = flags.FLAGS(sys.argv)
  assert rest == sys.argv[:1], f"not flags: {rest[1:]}"

app.run = parse_only
for command in json.loads(sys.argv[1]):
  print("parsing:", *command, file=sys.stderr, flush=True)
  sys.argv = command
  module = "jaxstyle.scripts." + command[0][len("scripts/"):-len(".py")]
  importlib.import_module(module).run()
  for name in set(flags.FLAGS) - absl_flags:
    delattr(flags.FLAGS, name)
  flags.FLAGS.unparse_flags()
  del sys.modules[module]
"""


def _parse(commands: list[list[str]]) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-c", _PARSE, json.dumps(commands)], cwd=ROOT,
                        capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})


def test_readme_commands_parse():
  done = _parse(_commands())
  assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("bad", [["--bogus=1"], ["--config.nonsense=3"], ["[--resume]"]])
def test_a_bad_command_fails_to_parse(bad):
  done = _parse([["scripts/texture.py", "--duration_s=2"], ["scripts/texture.py", *bad]])
  assert done.returncode != 0 and "parsing: scripts/texture.py " + bad[0] in done.stderr


def test_readme_commands_are_found():
  scripts = {c[0] for c in _commands()}
  assert {"scripts/texture.py", "scripts/stylize.py", "scripts/sweep.py", "scripts/reproduce.py",
          "scripts/train.py", "scripts/evaluate_set.py", "scripts/evaluate.py"} <= scripts
