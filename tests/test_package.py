"""The built wheel is the whole tool: configs, scripts and console commands, outside the
clone; and the package is layered as BUILD.md draws it."""

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, **kwargs):
  p = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
  assert p.returncode == 0, p.stderr[-3000:]
  return p


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
  """The wheel built from a copy of the sources (so no build/ of an earlier build leaks
  into it) and installed alone into a directory: `(site, env, wheel's file names,
  entry_points.txt)`. The dependencies come from this environment's site-packages as a
  plain path; `python -S` skips the .pth files, among them the editable install's
  finder, so nothing of the clone can be imported."""
  tmp_path = tmp_path_factory.mktemp("wheel")
  src = tmp_path / "src"
  for name in ("jaxstyle", "configs", "scripts"):
    shutil.copytree(os.path.join(ROOT, name), src / name,
                    ignore=shutil.ignore_patterns("__pycache__"))
  for name in ("pyproject.toml", "README.md", "LICENSE"):
    shutil.copy(os.path.join(ROOT, name), src / name)
  _run(sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q",
       "-w", str(tmp_path / "dist"))
  (wheel,) = (tmp_path / "dist").iterdir()
  with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
  site = tmp_path / "site"
  _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
       str(wheel))
  env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), sysconfig.get_paths()["purelib"]])}
  return site, env, names, entry_points


def _command(installed, name, *args, cwd, help_=False):
  """Runs an installed console command; `help_`: its `--help` (absl exits 1 after it)."""
  site, env, _, _ = installed
  if not help_:
    return _run(sys.executable, "-S", str(site / "bin" / name), *args, env=env, cwd=cwd)
  p = subprocess.run([sys.executable, "-S", str(site / "bin" / name), *args, "--help"],
                     capture_output=True, text=True, timeout=600, env=env, cwd=cwd)
  assert p.returncode in (0, 1) and "Traceback" not in p.stderr, p.stderr[-3000:]
  return p


def test_wheel_runs_the_default_example_outside_the_clone(installed, tmp_path):
  site, env, names, entry_points = installed
  for name in ("jaxstyle/configs/default.py", "jaxstyle/configs/experiments/h19_beta.py",
               "jaxstyle/scripts/texture.py", "jaxstyle/synthesis.py"):
    assert name in names
  assert "jaxstyle-texture = jaxstyle.scripts.texture:run" in entry_points
  assert "jaxstyle = jaxstyle.cli:umbrella" in entry_points
  where = _run(sys.executable, "-S", "-c", "import jaxstyle.config as c; print(c.CONFIGS_DIR)",
               env=env, cwd=tmp_path)
  assert where.stdout.strip() == str(site / "jaxstyle" / "configs")
  out = tmp_path / "out"
  _command(installed, "jaxstyle-texture", f"--output_dir={out}", "--config.n_fft=256",
           "--config.hop_length=64", "--config.bands=8", "--config.net.channels=16",
           "--config.iterations=4", "--config.phase_iterations=3",
           "--config.refine_iterations=3", "--compilation_cache=",
           cwd=tmp_path)
  assert sorted(os.listdir(out)) == ["example.json", "example.png", "example.wav"]


def test_installed_commands_explain_themselves(installed, tmp_path):
  # As `python scripts/NAME.py --help` does: the script's docstring and its own flags.
  texture = _command(installed, "jaxstyle-texture", cwd=tmp_path, help_=True).stdout
  assert texture.startswith("Audio texture synthesis: a new sound")
  for flag, words in (("--style", "Style audio file(s)"), ("--duration_s", "Seconds of output"),
                      ("--[no]loop", "Make a seamless loop")):
    assert f"  {flag}: {words}" in texture, flag
  evaluate_set = _command(installed, "jaxstyle-evaluate-set", cwd=tmp_path, help_=True).stdout
  assert evaluate_set.startswith("Texture quality on a set of real recordings")
  assert "  --textures: Directory of texture recordings" in evaluate_set
  umbrella = _command(installed, "jaxstyle", cwd=tmp_path, help_=True).stdout
  assert all(f"  {c} " in umbrella for c in ("texture", "stylize", "evaluate-set", "reproduce"))
  sub = _command(installed, "jaxstyle", "texture", cwd=tmp_path, help_=True).stdout
  assert "  --style: Style audio file(s)" in sub


def _imports() -> dict[str, set[str]]:
  """`{module: the jaxstyle modules it imports}` over `jaxstyle/*.py`, lazy imports too."""
  package = os.path.join(ROOT, "jaxstyle")
  modules = {f[:-3] for f in os.listdir(package) if f.endswith(".py")}
  out = {}
  for m in modules:
    with open(os.path.join(package, f"{m}.py")) as f:
      tree = ast.parse(f.read())
    names = set()
    for node in ast.walk(tree):
      if isinstance(node, ast.ImportFrom) and node.module == "jaxstyle":
        names |= {a.name for a in node.names}
      elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jaxstyle."):
        names.add(node.module.split(".")[1])
    out[m] = names & modules - {m}
  return out


def test_modules_import_only_modules_listed_above_them_in_build_md():
  with open(os.path.join(ROOT, "BUILD.md")) as f:
    layout = f.read().split("## Project layout", 1)[1]
  order = re.findall(r"^  (\w+)\.py ", layout, flags=re.M)
  imports = _imports()
  assert sorted(order) == sorted(imports)  # every module listed, once
  for i, m in enumerate(order):
    assert imports[m] <= set(order[:i]), (m, sorted(imports[m] - set(order[:i])))


def test_synthesis_reaches_no_module_that_touches_files():
  imports, seen, todo = _imports(), set(), ["synthesis"]
  while todo:
    for m in imports[todo.pop()] - seen:
      seen.add(m)
      todo.append(m)
  assert not seen & {"audio", "outputs", "checkpoint", "train", "plots"}, sorted(seen)


def test_the_core_takes_no_config():
  """The modules above `config` in BUILD.md's layout are the core: none imports
  ml_collections, so none can read a ConfigDict; `config` turns one into their specs."""
  with open(os.path.join(ROOT, "BUILD.md")) as f:
    layout = f.read().split("## Project layout", 1)[1]
  order = re.findall(r"^  (\w+)\.py ", layout, flags=re.M)
  core = order[:order.index("config")]
  assert {"spectral", "nets", "losses", "objective", "optimize", "synthesis", "phase",
          "representation", "batch", "blocks"} <= set(core)
  for m in core:
    with open(os.path.join(ROOT, "jaxstyle", f"{m}.py")) as f:
      tree = ast.parse(f.read())
    imported = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for a in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert "ml_collections" not in imported, m
