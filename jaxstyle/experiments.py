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
  seconds       length of each procedural sound.
  grid_columns  result panels per row of the figure grid.
  variants      a list of dicts: `name` (the output file stem), `overrides`
                (`{dotted key: value}` over `base`, e.g. `{"net.kernel_size": 1}`), and
                optionally `duration_factor` (texture output length over the longest
                style clip; default 1), `pretrained` (weights from a checkpoint rather
                than random; default False) and `quick` (`{dotted key: value}` applied
                after `overrides` in quick mode).
  quick         `seconds` (procedural sounds) and `config` (a partial jaxstyle config,
                nested like `base`, applied before the variants' overrides) of quick
                mode: a tiny network and few iterations, for a smoke run on a CPU.

`run` checks every variant's config, then runs each with `pipeline.run` (one call per
variant, writing `VARIANT.wav`, `.png`, `.json` into the output directory), then writes
`report.md`, `report.json` and `grid.png` from all the variants' JSONs there. With
`resume`, variants whose JSON is there and matches their config are not run again.
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
from jaxstyle import frontend
from jaxstyle import outputs
from jaxstyle import pipeline
from jaxstyle import plots
from jaxstyle import train
from jaxstyle.errors import InputError

EXPERIMENTS_DIR = os.path.join(config_lib.CONFIGS_DIR, "experiments")
TASKS = ("texture", "style_transfer")
# The procedural sounds an experiment may name as its inputs.
SOUNDS = {"babble": examples.babble, "piano": examples.piano, "rooster": examples.rooster,
          "birds": examples.birds_and_rain, "tones": examples.tones}
FIELDS = ("description", "paper", "task", "base", "style", "content", "seconds",
          "grid_columns", "variants", "quick")
VARIANT_FIELDS = ("name", "overrides", "duration_factor", "pretrained", "quick")
# Keys that define a front-end: variants that share them share input spectrograms.
FRONTEND_KEYS = ("spectrogram", "sample_rate", "n_fft", "hop_length", "log_max", "cqt_bins",
                 "cqt_bins_per_octave")
# Keys shown once in the report, as the settings that all variants start from.
COMMON_KEYS = ("spectrogram", "n_fft", "hop_length", "net.orientation", "net.stacks",
               "net.channels", "net.kernel_size", "net.pooling", "style_layers",
               "content_layers", "content_weight", "style_weight", "bound_weight", "init",
               "iterations", "phase_iterations")
REPORT_FILES = ("grid.png", "report.json", "report.md")
# Quick mode's stand-in for ESC-50 pretraining: a tiny classifier of procedural sounds.
QUICK_PRETRAIN_DIR = "quick_pretrained"
QUICK_PRETRAIN_CLASSES = ("babble", "piano", "rooster")
QUICK_PRETRAIN = dict(epochs=5, batch_size=6, learning_rate=1e-3, clip_seconds=1.0)
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
  if sorted(e.quick) != ["config", "seconds"]:
    raise InputError(f"{where}: quick must have exactly the fields config and seconds, got "
                     f"{sorted(e.quick)}")
  if not e.variants:
    raise InputError(f"{where}: no variants")
  seen = {os.path.splitext(f)[0] for f in REPORT_FILES}  # Their files would clash.
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


def _base_config(e, *, quick: bool, overrides: Mapping[str, Any] | None):
  """What the variants start from (for the report's 'settings that differ')."""
  return variant_config(e, {"name": "base"}, quick=quick, overrides=overrides)


def _frontend_key(c: ml_collections.ConfigDict) -> tuple:
  return tuple(c[k] for k in FRONTEND_KEYS)


def _format(value: Any) -> str:
  if isinstance(value, float):
    return f"{value:.4g}"
  if isinstance(value, str) and os.sep in value:
    return os.path.basename(value)
  return str(value)


def _settings(c: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
  """The flattened keys of `c` whose values differ from `base`."""
  flat, ref = config_lib.flatten(c), config_lib.flatten(base)
  return {k: v for k, v in flat.items() if ref.get(k) != v}


def _write_training_set(root: str, *, sample_rate: int, clip_seconds: float) -> None:
  """A tiny dataset in the ESC-50 layout: 2 clips per class in each of folds 1 and 2."""
  rows = []
  for fold in (1, 2):
    for target, sound in enumerate(QUICK_PRETRAIN_CLASSES):
      for i in range(2):
        filename = f"{fold}-{sound}-{i}.wav"
        y = SOUNDS[sound](seconds=clip_seconds, sample_rate=sample_rate, seed=10 * fold + i)
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
                      clip_seconds=QUICK_PRETRAIN["clip_seconds"])
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
  seconds, rate = (e.quick.seconds if quick else e.seconds), e.base.sample_rate
  paths = {s: os.path.join(output_dir, "inputs", f"{s}.wav") for s in sounds}
  for sound, path in paths.items():
    outputs.audio(path, SOUNDS[sound](seconds=seconds, sample_rate=rate), sample_rate=rate)
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
) -> dict:
  """Runs the variants of experiment `name`, then writes its reports.

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
    seed: seed of the noise init and of Griffin-Lim (`pipeline.run`).
    variants: names of the variants to run (default or empty: all); the reports show
      every variant with a valid result in `output_dir`.
    overrides: `{dotted key: value}` applied to every variant last.

  Returns:
    The report, as written to `report.json`.

  Raises:
    InputError: an unknown experiment or variant, a bad file, a missing checkpoint, or
      a variant config that fails `config.check`; raised before any variant runs.
  """
  e = load(name)
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
  configs = {v["name"]: variant_config(e, v, quick=quick, params=params or "",
                                       overrides=overrides) for v in selected}

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
  specs = _spectrograms(inputs, configs.values())
  if not trained_here:
    checked = set()
    for v in selected:
      c = configs[v["name"]]
      n_frames, n_freq = specs[_frontend_key(c)][content_path or style_paths[0]].shape
      key = (_frontend_key(c), tuple(c.net.items()), n_frames, n_freq)
      if v.get("pretrained", False) and key not in checked:
        checkpoint.load(params, c, n_frames=n_frames, n_freq=n_freq)
        checked.add(key)
  longest_s = max(inputs[p].size for p in style_paths) / e.base.sample_rate

  for i, v in enumerate(selected, start=1):
    c, tag = configs[v["name"]], f"variant {i}/{len(selected)} {v['name']}"
    json_path = os.path.join(output_dir, f"{v['name']}.json")
    expected = {"config": c.to_dict(), "seed": seed, "style": style_paths,
                "content": content_path}
    if resume and outputs.finished(json_path, expected) is not None:
      logging.info("%s: skipped, %s is there (--resume)", tag, json_path)
      continue
    if v.get("pretrained", False) and trained_here and not os.path.isfile(params):
      _pretrain_quick(c, os.path.dirname(c.params), seed=seed)
    factor = v.get("duration_factor", 1)
    logging.info("%s: start", tag)
    record = pipeline.run(c, style_paths=style_paths, content_path=content_path,
                          duration_s=None if factor == 1 else factor * longest_s,
                          output_dir=output_dir, name=v["name"], seed=seed)
    logging.info("%s: done in %.1f s, final losses %s", tag, record["seconds"]["total"],
                 json.dumps(record["final_losses"]))

  return _write_reports(e, output_dir=output_dir, quick=quick, seed=seed, params=params,
                        style_paths=style_paths, content_path=content_path,
                        overrides=overrides, inputs=inputs)


def _spectrograms(inputs: Mapping[str, np.ndarray], configs) -> dict[tuple, dict]:
  """`{front-end key: {path: spectrogram [time, bins]}}` of the inputs."""
  out = {}
  for c in configs:
    key = _frontend_key(c)
    if key not in out:
      out[key] = {p: frontend.analyze(y, c) for p, y in inputs.items()}
  return out


def _write_reports(
    e: ml_collections.ConfigDict,
    *,
    output_dir: str,
    quick: bool,
    seed: int,
    params: str | None,
    style_paths: Sequence[str],
    content_path: str | None,
    overrides: Mapping[str, Any] | None,
    inputs: Mapping[str, np.ndarray],
) -> dict:
  """Writes `grid.png`, `report.json` and `report.md` from the variants' JSONs.

  A variant is in the report if its JSON in `output_dir` matches its config and the
  inputs; the others are listed as missing.

  Returns:
    The report written to `report.json`.
  """
  base = _base_config(e, quick=quick, overrides=overrides).to_dict()
  rows, missing = [], []
  for v in e.variants:
    c = variant_config(e, v, quick=quick, params=params or "", overrides=overrides)
    json_path = os.path.join(output_dir, f"{v['name']}.json")
    record = outputs.finished(json_path, {"config": c.to_dict(), "seed": seed,
                                       "style": list(style_paths), "content": content_path})
    if record is None:
      missing.append(v["name"])
      continue
    rows.append({
        "name": v["name"],
        "settings": _settings(record["config"], base),
        "duration_factor": v.get("duration_factor", 1),
        "pretrained": v.get("pretrained", False),
        "files": {ext: f"{v['name']}.{ext}" for ext in ("wav", "png", "json")},
        "record": record,
    })
  pretrain_info = os.path.join(output_dir, QUICK_PRETRAIN_DIR, "train.json")
  pretraining = None
  if any(r["pretrained"] for r in rows):
    pretraining = {"checkpoint": params}
    if quick and os.path.isfile(pretrain_info) and params == os.path.join(
        output_dir, QUICK_PRETRAIN_DIR, "net.msgpack"):
      with open(pretrain_info) as f:
        pretraining = json.load(f) | {"quick": True}
  report = {
      "experiment": e.name,
      "description": e.description,
      "paper": e.paper,
      "task": e.task,
      "quick": quick,
      "seed": seed,
      "inputs": {"style": list(style_paths), "content": content_path},
      "base_config": base,
      "pretraining": pretraining,
      "missing": missing,
      "variants": rows,
  }
  paths = {f: os.path.join(output_dir, f) for f in REPORT_FILES}
  configs = [ml_collections.ConfigDict(r["record"]["config"]) for r in rows]
  results = []
  for row, c in zip(rows, configs, strict=True):
    y = audio.load(os.path.join(output_dir, row["files"]["wav"]), sample_rate=c.sample_rate)
    results.append((row["name"], frontend.analyze(y, c), c))
  panels = _input_panels(inputs, configs or [ml_collections.ConfigDict(base)], style_paths,
                         content_path)
  outputs.figure(paths["grid.png"], plots.grid_figure(inputs=panels, results=results,
                                                     columns=e.grid_columns))
  outputs.json_file(paths["report.json"], report)
  outputs.text_file(paths["report.md"], _markdown(report))
  logging.info("wrote %s", ", ".join(paths.values()))
  return report


def _input_panels(inputs, configs, style_paths, content_path) -> list[tuple]:
  """`(title, spectrogram, config)` of each input under each front-end of `configs`."""
  by_key = {}
  for c in configs:
    by_key.setdefault(_frontend_key(c), c)
  specs = _spectrograms(inputs, by_key.values())
  roles = [("style", p) for p in style_paths] + (
      [] if content_path is None else [("content", content_path)])
  panels = []
  for key, c in by_key.items():
    suffix = f" [{c.spectrogram}]" if len(by_key) > 1 else ""
    for role, p in roles:
      panels.append((f"{role}: {os.path.basename(p)}{suffix}", specs[key][p], c))
  return panels


def _cell(value: float) -> str:
  return f"{value:.3g}"


def _markdown(report: Mapping[str, Any]) -> str:
  """The report as Markdown: what was run, a table of the variants, the figure grid."""
  style_transfer = report["task"] == "style_transfer"
  base = report["base_config"]
  lines = [f"# {report['experiment']}: {report['description']}", "",
           f"{report['paper']}. Task: {report['task'].replace('_', ' ')}"
           + (", **quick mode** (tiny network, few iterations, short clips: a smoke run, "
              "not the paper's settings)" if report["quick"] else "") + ".", "",
           "Inputs: style " + ", ".join(os.path.basename(p) for p in report["inputs"]["style"])
           + ("" if report["inputs"]["content"] is None
              else f"; content {os.path.basename(report['inputs']['content'])}")
           + f". Seed {report['seed']}.", "",
           "Common settings: " + ", ".join(f"{k}={_format(config_lib.get(base, k))}"
                                           for k in COMMON_KEYS) + ".", ""]
  pretraining = report["pretraining"]
  if pretraining and pretraining.get("quick"):
    lines += [f"Pretrained variants use a tiny classifier trained here in quick mode on "
              f"procedural sounds ({', '.join(pretraining['classes'])}; validation accuracy "
              f"{pretraining['val_accuracy']:.2f}), not on ESC-50: "
              f"`{pretraining['checkpoint']}`.", ""]
  elif pretraining:
    lines += [f"Pretrained variants use the checkpoint `{pretraining['checkpoint']}`.", ""]
  header = ["variant", "settings", "style loss"] + (["content loss"] if style_transfer else [])
  header += ["seconds", "texture stats", "gram dist.", "copy fraction", "spectral conv."]
  header += ["onset corr."] if style_transfer else []
  lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in report["variants"]:
    r = row["record"]
    q, losses = r["quality"], r["final_losses"]
    settings = [f"{k}={_format(v)}" for k, v in row["settings"].items()]
    if row["duration_factor"] != 1:
      settings.append(f"duration x{row['duration_factor']:g} ({r['duration_s']:.1f} s)")
    cells = [row["name"], ", ".join(settings) or "(base)", _cell(losses["style"])]
    cells += [_cell(losses["content"])] if style_transfer else []
    copy = q["style"]["copy"]
    own = copy.get("reference_fraction")  # absent from variants resumed from older versions
    cells += [f"{r['seconds']['total']:.1f}", _cell(q["style"]["texture_stats"]["total"]),
              _cell(q["style"]["gram"]),
              _cell(copy["fraction"]) + ("" if own is None else f" ({_cell(own)})"),
              _cell(q["spectral_convergence"])]
    cells += [_cell(q["content"]["onset_correlation"])] if style_transfer else []
    lines.append("| " + " | ".join(cells) + " |")
  if report["missing"]:
    lines += ["", "Not run yet (or from other settings): " + ", ".join(report["missing"]) + "."]
  lines += ["", "Losses are the unweighted terms at the best iterate (`jaxstyle.losses`). "
            "Quality measures (`jaxstyle.metrics`): texture stats and gram distance to the "
            "style (0: equal statistics), the fraction of the output copied from a style "
            "clip (in brackets: the same test of the style against itself, near 1 for "
            "steady tones, where copies cannot be told apart), the spectral convergence "
            "of the phase reconstruction, the onset correlation with the content. Per "
            "variant: VARIANT.wav, VARIANT.png, VARIANT.json; everything is in report.json.", "",
            "![spectrograms: inputs, then each variant's result](grid.png)", ""]
  return "\n".join(lines)
