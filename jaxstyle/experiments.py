"""The papers' experiments as configs: load one, run its variants, resume, report.

An experiment is `configs/experiments/NAME.py`, whose `get_config()` returns a
ConfigDict with:

  description   one line, for `scripts/reproduce.py --list`.
  paper         the paper and section, e.g. "Huzaifah & Wyse (2019), section 5.2.2".
  task          `texture` or `style_transfer`.
  base          a full jaxstyle config (`jaxstyle.config`) that the variants share.
  style         names of procedural sounds (`SOUNDS`), the style clips when no style
                file is given.
  content       name of the procedural content sound (style transfer), else None.
  sound_s       length of each procedural sound, in seconds.
  grid_columns  result panels per row of the figure grid.
  variants      a list of dicts: `name` (the output file stem), `overrides`
                (`{dotted key: value}` over `base`, e.g. `{"net.kernel_size": 1}`), and
                optionally `duration_factor` (texture output length over the longest
                style clip; default 1), `pretrained` (weights from a checkpoint rather
                than random; default False) and `quick` (`{dotted key: value}` applied
                after `overrides` in quick mode).
  quick         `sound_s` (procedural sounds) and `config` (a partial jaxstyle config,
                nested like `base`, applied before the variants' overrides) of quick
                mode: a tiny network and few iterations, for a smoke run on a CPU.

`run` checks every variant's config, then runs the variants as points of a sweep
(`sweep.run_points`, writing `VARIANT.wav`, `.png`, `.json` into the output
directory; one at a time by default, or the variants that differ only in loss weights
batched), then writes `report.md`, `report.json` and `grid.png` from all the variants'
JSONs there (`reports.experiment`). With `resume`, variants whose JSON is there and
matches their point and config are not run again.
"""

from collections.abc import Mapping, Sequence
import json
import os
import re
from typing import Any

from absl import logging
import ml_collections
import numpy as np

from jaxstyle import audio
from jaxstyle import checkpoint
from jaxstyle import config as config_lib
from jaxstyle import examples
from jaxstyle import grid
from jaxstyle import outputs
from jaxstyle import reports
from jaxstyle import representation
from jaxstyle import sweep
from jaxstyle import train
from jaxstyle.errors import InputError

EXPERIMENTS_DIR = os.path.join(config_lib.CONFIGS_DIR, "experiments")
TASKS = ("texture", "style_transfer")
# The procedural sounds an experiment may name as its inputs.
SOUNDS = {"babble": examples.babble, "piano": examples.piano, "rooster": examples.rooster,
          "birds": examples.birds_and_rain, "tones": examples.tones}
FIELDS = ("description", "paper", "task", "base", "style", "content", "sound_s",
          "grid_columns", "variants", "quick")
# Fields renamed by the naming rule (BUILD.md "Names and units"), refused by their old name.
RENAMED = {"seconds": "sound_s"}
VARIANT_FIELDS = ("name", "overrides", "duration_factor", "pretrained", "quick")
# Quick mode's stand-in for ESC-50 pretraining: a tiny classifier of procedural sounds.
QUICK_PRETRAIN_DIR = "quick_pretrained"
QUICK_PRETRAIN_CLASSES = ("babble", "piano", "rooster")
QUICK_PRETRAIN = dict(epochs=5, batch_size=6, learning_rate=1e-3, clip_s=1.0)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def names() -> list[str]:
  """The experiment names: the files `configs/experiments/NAME.py`, sorted."""
  return sorted(f[:-3] for f in os.listdir(EXPERIMENTS_DIR)
                if f.endswith(".py") and not f.startswith("_"))


def load(name: str) -> ml_collections.ConfigDict:
  """The checked definition of experiment `name`, with `name` added.

  Raises:
    InputError: an unknown experiment, or a definition that lacks a field, has an
      unknown one or a bad value.
  """
  path = os.path.join(EXPERIMENTS_DIR, f"{name}.py")
  if not _NAME.fullmatch(name) or not os.path.isfile(path):
    raise InputError(f"unknown experiment {name!r}; experiments: {', '.join(names())}")
  e = config_lib.load(path)
  _check_definition(e, name)
  e.name = name
  return e


def describe() -> list[tuple[str, str]]:
  """`(name, description)` of every experiment."""
  return [(name, load(name).description) for name in names()]


def _check_definition(e: ml_collections.ConfigDict, name: str) -> None:
  where = f"experiment {name}"
  for old, new in RENAMED.items():
    if old in e or old in e.get("quick", {}):
      raise InputError(f"{where}: the field {old} is now {new} (seconds end in _s)")
  missing = [k for k in FIELDS if k not in e]
  unknown = [k for k in e if k not in FIELDS]
  if missing or unknown:
    raise InputError(f"{where}: missing field(s) {missing}, unknown field(s) {unknown} "
                     f"(fields: {', '.join(FIELDS)})")
  if e.task not in TASKS:
    raise InputError(f"{where}: task must be one of {TASKS}, got {e.task!r}")
  sounds = list(e.style) + ([] if e.content is None else [e.content])
  if not e.style or any(s not in SOUNDS for s in sounds) or len(set(sounds)) < len(sounds):
    raise InputError(f"{where}: style and content must name distinct sounds of "
                     f"{sorted(SOUNDS)}, got {list(e.style)} and {e.content!r}")
  if (e.task == "style_transfer") != (e.content is not None):
    raise InputError(f"{where}: a {e.task} experiment "
                     + ("needs" if e.task == "style_transfer" else "has no") + " content")
  if sorted(e.quick) != ["config", "sound_s"]:
    raise InputError(f"{where}: quick must have exactly the fields config and sound_s, got "
                     f"{sorted(e.quick)}")
  if not e.variants:
    raise InputError(f"{where}: no variants")
  seen = {os.path.splitext(f)[0] for f in reports.EXPERIMENT_FILES}  # Their files would clash.
  for v in e.variants:
    if "name" not in v or not _NAME.fullmatch(str(v["name"])) or v["name"] in seen:
      raise InputError(f"{where}: every variant needs a distinct name of letters, digits, "
                       f"'_', '.' or '-', other than {sorted(seen)}; got {v.get('name')!r}")
    seen.add(v["name"])
    unknown = [k for k in v if k not in VARIANT_FIELDS]
    if unknown:
      raise InputError(f"{where}, variant {v['name']}: unknown field(s) {unknown} "
                       f"(fields: {', '.join(VARIANT_FIELDS)})")
    factor = v.get("duration_factor", 1)
    if not factor > 0 or (e.task == "style_transfer" and factor != 1):
      raise InputError(f"{where}, variant {v['name']}: duration_factor must be positive, "
                       f"and 1 for style transfer; got {factor!r}")


def variant_config(
    e: ml_collections.ConfigDict,
    variant: Mapping[str, Any],
    *,
    quick: bool = False,
    params: str = "",
    overrides: Mapping[str, Any] | None = None,
) -> ml_collections.ConfigDict:
  """The checked jaxstyle config of one variant of experiment `e`.

  `base`, then (quick mode) `quick.config`, the variant's `overrides`, (quick mode)
  its `quick`, and `overrides` (dotted keys; e.g. fewer iterations for a smoke test).
  A pretrained variant gets `params`.

  Raises:
    InputError: naming the experiment, the variant and the bad key or value.
  """
  where = f"experiment {e.name}, variant {variant['name']}"
  c = e.base.copy_and_resolve_references()
  changes = config_lib.flatten(e.quick.config.to_dict()) if quick else {}
  changes.update(variant.get("overrides", {}))
  changes.update(variant.get("quick", {}) if quick else {})
  changes.update(overrides or {})
  for key, value in changes.items():
    config_lib.override(c, key, value, where=where)
  if variant.get("pretrained", False):
    c.params = params
  try:
    config_lib.check(c)
  except InputError as err:
    raise InputError(f"{where}: {err}") from None
  return c


def _write_training_set(root: str, *, sample_rate: int, clip_s: float) -> None:
  """A tiny dataset in the ESC-50 layout: 2 clips per class in each of folds 1 and 2."""
  rows = []
  for fold in (1, 2):
    for target, sound in enumerate(QUICK_PRETRAIN_CLASSES):
      for i in range(2):
        filename = f"{fold}-{sound}-{i}.wav"
        y = SOUNDS[sound](duration_s=clip_s, sample_rate=sample_rate, seed=10 * fold + i)
        outputs.audio(os.path.join(root, train.AUDIO_DIR, filename), y,
                       sample_rate=sample_rate)
        rows.append({"filename": filename, "fold": fold, "target": target, "category": sound})
  outputs.csv_file(os.path.join(root, train.CSV_PATH), rows, train.CSV_COLUMNS)


def _pretrain_quick(c: ml_collections.ConfigDict, directory: str, *, seed: int) -> None:
  """Trains a tiny classifier of procedural sounds with `c`'s network into `c.params`."""
  logging.info("quick mode: training a tiny classifier of procedural sounds (%s) for the "
               "pretrained variants (a stand-in for ESC-50) into %s",
               ", ".join(QUICK_PRETRAIN_CLASSES), c.params)
  data_dir = os.path.join(directory, "data")
  _write_training_set(data_dir, sample_rate=c.sample_rate,
                      clip_s=QUICK_PRETRAIN["clip_s"])
  untrained = c.copy_and_resolve_references()
  untrained.params = ""
  result = train.train(untrained, data_dir=data_dir, output_path=c.params, seed=seed,
                       val_fold=1, **QUICK_PRETRAIN)
  info = {"checkpoint": c.params, "data_dir": data_dir, "classes": result["classes"],
          "val_accuracy": result["val_accuracy"], "num_train": result["num_train"],
          "num_val": result["num_val"], **QUICK_PRETRAIN}
  outputs.json_file(os.path.join(directory, "train.json"), info)


def _write_sounds(e: ml_collections.ConfigDict, sounds: Sequence[str], *, output_dir: str,
                  quick: bool) -> dict[str, str]:
  """Writes procedural `sounds` into `output_dir/inputs/SOUND.wav`; their paths."""
  sound_s, rate = (e.quick.sound_s if quick else e.sound_s), e.base.sample_rate
  paths = {s: os.path.join(output_dir, "inputs", f"{s}.wav") for s in sounds}
  for sound, path in paths.items():
    outputs.audio(path, SOUNDS[sound](duration_s=sound_s, sample_rate=rate), sample_rate=rate)
  return paths


def _load(paths: Sequence[str], *, sample_rate: int, n_fft: int) -> dict[str, np.ndarray]:
  """`{path: waveform [samples]}`, checked (`audio.check`)."""
  return {p: audio.check(audio.load(p, sample_rate=sample_rate), name=p, n_fft=n_fft)
          for p in paths}


def run(
    name: str,
    *,
    output_dir: str,
    style_paths: Sequence[str] = (),
    content_path: str | None = None,
    quick: bool = False,
    resume: bool = False,
    params: str | None = None,
    seed: int = 0,
    variants: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    jobs_per_device: int = 1,
) -> dict:
  """Runs the variants of experiment `name` as sweep points, then writes its reports.

  Args:
    name: an experiment of `names()`.
    output_dir: where each variant's `VARIANT.wav/png/json`, the procedural inputs
      (`inputs/`) and the reports go.
    style_paths: style audio files; default the experiment's procedural sounds.
    content_path: content audio (style transfer); default its procedural sound.
    quick: the experiment's quick settings (tiny network, few iterations, short clips).
    resume: skip variants whose JSON in `output_dir` is valid and from the same
      settings.
    params: checkpoint (`scripts/train.py`) of the pretrained variants. Required for
      them, except in quick mode, where by default a tiny classifier of procedural
      sounds is trained into `output_dir/quick_pretrained/net.msgpack` (if absent).
    seed: seed of the noise init and of Griffin-Lim.
    variants: names of the variants to run (default or empty: all); the reports show
      every variant with a valid result in `output_dir`.
    overrides: `{dotted key: value}` applied to every variant last.
    jobs_per_device: variants run together per device (`sweep.run_points`): 1 runs
      each alone, exactly as `scripts/texture.py` would; more batches the variants
      that differ only in loss weights, equal up to floating-point rounding.

  Returns:
    The report, as written to `report.json`.

  Raises:
    InputError: an unknown experiment or variant, a bad file, a missing checkpoint, or
      a variant config that fails `config.check`; raised before any variant runs.
  """
  e = load(name)
  outputs.check_directory(output_dir)
  known = [v["name"] for v in e.variants]
  unknown = [v for v in variants or () if v not in known]
  if unknown:
    raise InputError(f"experiment {name} has no variant(s) {', '.join(unknown)} "
                     f"(variants: {', '.join(known)})")
  selected = [v for v in e.variants if not variants or v["name"] in variants]
  if e.task == "texture" and content_path is not None:
    raise InputError(f"experiment {name} is texture synthesis: it takes no content file")
  pretrained = [v["name"] for v in selected if v.get("pretrained", False)]
  trained_here = quick and not params and any(v.get("pretrained", False) for v in e.variants)
  if trained_here:
    params = os.path.join(output_dir, QUICK_PRETRAIN_DIR, "net.msgpack")
  elif pretrained and not params:
    raise InputError(
        f"variant(s) {', '.join(pretrained)} of experiment {name} use pretrained weights: pass "
        "--params=CKPT, a checkpoint of the same network trained on ESC-50, e.g. "
        "python scripts/train.py --config=configs/huzaifah2019.py --data_dir=ESC-50 "
        "--output=pretrained/huzaifah2019.msgpack (or use --quick, which trains a tiny one)")
  elif pretrained and not os.path.isfile(params):
    raise InputError(f"checkpoint not found: {params}")
  elif params and not pretrained:
    logging.warning("params=%s is not used: no selected variant of %s is pretrained", params,
                    name)
  all_configs = {v["name"]: variant_config(e, v, quick=quick, params=params or "",
                                           overrides=overrides) for v in e.variants}
  configs = {v["name"]: all_configs[v["name"]] for v in selected}

  n_fft = max(c.n_fft for c in configs.values())
  inputs = _load(list(style_paths) + ([] if content_path is None else [content_path]),
                 sample_rate=e.base.sample_rate, n_fft=n_fft)
  needed = [] if style_paths else list(e.style)
  needed += [e.content] if e.task == "style_transfer" and content_path is None else []
  sounds = _write_sounds(e, needed, output_dir=output_dir, quick=quick)
  inputs.update(_load(sounds.values(), sample_rate=e.base.sample_rate, n_fft=n_fft))
  style_paths = list(style_paths) or [sounds[s] for s in e.style]
  content_path = sounds.get(e.content, content_path)
  # A front-end that cannot analyze the inputs, or a checkpoint that does not fit, fails now.
  specs = representation.analyze_all(
      inputs, [config_lib.representation_spec(c) for c in configs.values()])
  if not trained_here:
    checked = set()
    for v in selected:
      c = configs[v["name"]]
      r = config_lib.representation_spec(c)
      n_frames, n_freq = specs[r][content_path or style_paths[0]].shape
      key = (r, tuple(c.net.items()), n_frames, n_freq)
      if v.get("pretrained", False) and key not in checked:
        checkpoint.load(params, c, n_frames=n_frames, n_freq=n_freq)
        checked.add(key)
  if pretrained and trained_here and not os.path.isfile(params):
    _pretrain_quick(configs[pretrained[0]], os.path.dirname(params), seed=seed)
  longest_s = max(inputs[p].size for p in style_paths) / e.base.sample_rate
  factors = [v.get("duration_factor", 1) for v in selected]
  points = [grid.Point(i, v["name"], dict(v.get("overrides", {})), configs[v["name"]],
                       ",".join(style_paths), content_path or "",
                       None if factor == 1 else factor * longest_s, seed)
            for i, (v, factor) in enumerate(zip(selected, factors, strict=True))]
  sweep.run_points(points, output_dir=output_dir, resume=resume,
                   jobs_per_device=jobs_per_device, plot=True)

  info = os.path.join(output_dir, QUICK_PRETRAIN_DIR, "train.json")
  pretraining = None
  if trained_here and os.path.isfile(info):
    with open(info) as f:
      pretraining = json.load(f) | {"quick": True}
  return reports.experiment(
      e, configs=all_configs, base=variant_config(e, {"name": "base"}, quick=quick,
                                                  overrides=overrides),
      output_dir=output_dir, quick=quick, seed=seed, params=params, pretraining=pretraining,
      style_paths=style_paths, content_path=content_path, inputs=inputs)
