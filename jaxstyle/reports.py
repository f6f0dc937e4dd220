"""Reporting: what a set of results says, as Markdown, JSON, CSV and figures.

- `experiment`: an experiment's `report.md`, `report.json` and `grid.png` from its
  variants' records (`jaxstyle.experiments`);
- `sweep_summary`: a sweep's `summary.json` and `summary.csv` from its points' records
  (`jaxstyle.sweep`);
- `harness`: the texture-quality harness's `report.md`, `report.json`, `grid.png` and
  textures (`jaxstyle.evaluation`), with its Markdown table `harness_markdown`.

The files are written by `jaxstyle.outputs`.
"""

from collections.abc import Mapping, Sequence
import dataclasses
import os
from typing import Any

from absl import logging
import ml_collections
import numpy as np

from jaxstyle import audio
from jaxstyle import config as config_lib
from jaxstyle import evaluation
from jaxstyle import outputs
from jaxstyle import plots
from jaxstyle import representation

# Keys shown once in an experiment's report, as the settings that all variants start from.
COMMON_KEYS = ("spectrogram", "n_fft", "hop_length", "net.orientation", "net.stacks",
               "net.channels", "net.kernel_size", "net.pooling", "style_layers",
               "content_layers", "content_weight", "style_weight", "bound_weight", "init",
               "iterations", "phase_iterations")
EXPERIMENT_FILES = ("grid.png", "report.json", "report.md")


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


def experiment(
    e: ml_collections.ConfigDict,
    *,
    configs: Mapping[str, ml_collections.ConfigDict],
    base: ml_collections.ConfigDict,
    output_dir: str,
    quick: bool,
    seed: int,
    params: str | None,
    pretraining: dict | None,
    style_paths: Sequence[str],
    content_path: str | None,
    inputs: Mapping[str, np.ndarray],
) -> dict:
  """Writes `grid.png`, `report.json` and `report.md` of experiment `e` from the
  variants' JSONs in `output_dir`.

  A variant is in the report if its JSON matches its config (`configs[name]`), the
  seed and the inputs; the others are listed as missing. `base`: what the variants
  start from (the report shows the settings that differ); `pretraining`: the quick
  mode's training record, if it trained the checkpoint `params`; `inputs`: the input
  waveforms by path, for the figure.

  Returns:
    The report written to `report.json`.
  """
  base = base.to_dict()
  rows, missing = [], []
  for v in e.variants:
    json_path = os.path.join(output_dir, f"{v['name']}.json")
    record = outputs.finished(json_path, {"config": configs[v["name"]].to_dict(), "seed": seed,
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
  if any(r["pretrained"] for r in rows):
    pretraining = pretraining or {"checkpoint": params}
  else:
    pretraining = None
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
  paths = {f: os.path.join(output_dir, f) for f in EXPERIMENT_FILES}
  configs = [ml_collections.ConfigDict(r["record"]["config"]) for r in rows]
  results = []
  for row, c in zip(rows, configs, strict=True):
    y = audio.load(os.path.join(output_dir, row["files"]["wav"]), sample_rate=c.sample_rate)
    r = config_lib.representation_spec(c)
    results.append((row["name"], representation.analyze(y, r), r))
  panels = _input_panels(inputs, configs or [ml_collections.ConfigDict(base)], style_paths,
                         content_path)
  outputs.figure(paths["grid.png"], plots.grid_figure(inputs=panels, results=results,
                                                     columns=e.grid_columns))
  outputs.json_file(paths["report.json"], report)
  outputs.text_file(paths["report.md"], _markdown(report))
  logging.info("wrote %s", ", ".join(paths.values()))
  return report


def _input_panels(inputs, configs, style_paths, content_path) -> list[tuple]:
  """`(title, spectrogram, representation)` of each input under each front-end of
  `configs`."""
  specs = representation.analyze_all(inputs, [config_lib.representation_spec(c) for c in configs])
  roles = [("style", p) for p in style_paths] + (
      [] if content_path is None else [("content", content_path)])
  panels = []
  for r, by_path in specs.items():
    suffix = f" [{r.kind}]" if len(specs) > 1 else ""
    for role, p in roles:
      panels.append((f"{role}: {os.path.basename(p)}{suffix}", by_path[p], r))
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


def sweep_summary(points: Sequence[Any], records: Sequence[dict | None], output_dir: str) -> dict:
  """Writes `summary.json` and `summary.csv`: every point (`grid.Point`), its settings and,
  where its record (None: not done) is there, its results."""
  keys = list(points[0].settings) if points else []
  rows = []
  for p, record in zip(points, records, strict=True):
    row = {"index": p.index, "name": p.name, **p.settings, "done": record is not None}
    if record is not None:
      final = record["final_losses"]
      row.update({f"final_{k}": final[k] for k in ("total", "style", "content", "bound")},
                 best_iteration=final["iteration"], stop_reason=record["stop_reason"],
                 seconds=record["seconds"]["total"],
                 process=record["point"]["process_index"])
    rows.append(row)
  summary = {"grid": keys, "n_points": len(rows), "n_done": sum(r["done"] for r in rows),
             "points": rows}
  outputs.json_file(os.path.join(output_dir, "summary.json"), summary)
  outputs.csv_file(os.path.join(output_dir, "summary.csv"), rows, [
      "index", "name", *keys, "done", "final_total", "final_style", "final_content",
      "final_bound", "best_iteration", "stop_reason", "seconds", "process"])
  logging.info("summary: %d of %d points done; wrote %s", summary["n_done"], len(rows),
               os.path.join(output_dir, "summary.csv"))
  return summary


def harness_markdown(report: Mapping, *, command: str) -> str:
  """`report.md`: the mean table, then one table per score with a row per recording; the
  style excerpts' own `dips` in a row of the first and a column of the `dips` table."""
  names = list(report["mean"])
  columns = (*evaluation.SCORES, "seconds")
  row = lambda cells: "| " + " | ".join(cells) + " |"  # noqa: E731
  lines = ["# Texture quality", "", f"`{command}`", "",
           f"{len(report['recordings'])} recordings, means (lower is better; all at unit RMS; "
           "dips: the share of 32 ms frames over 10 dB below the surrounding second):", "",
           row(["method", *columns]), "|---" * (len(columns) + 1) + "|"]
  lines += [row([m, *(f"{report['mean'][m][s]:.3g}" for s in columns)]) for m in names]
  lines.append(row(["style excerpt", *(f"{report['style_dips']:.3g}" if s == "dips" else "-"
                                       for s in columns)]))
  for s in evaluation.SCORES:
    own = s == "dips"  # the style excerpt's own dips beside the methods'
    lines += ["", f"## {s}", "", row(["recording", *names] + ["style excerpt"] * own),
              "|---" * (len(names) + own + 1) + "|"]
    lines += [row([r["name"], *(f"{r['methods'][m][s]:.3g}" for m in names)]
                  + [f"{r['style_dips']:.3g}"] * own) for r in report["recordings"]]
  return "\n".join(lines) + "\n"


def harness(report: Mapping, output_dir: str, *, command: str, sample_rate: int) -> None:
  """Writes `report.json`, `report.md`, `grid.png` (style | textures, a row per recording)
  and each texture as `RECORDING/METHOD.wav`, every file atomically."""
  display = dataclasses.replace(config_lib.representation_spec(config_lib.base()),
                                sample_rate=sample_rate)
  for name, sounds in report["audio"].items():
    for method, y in sounds.items():
      outputs.audio(os.path.join(output_dir, name, f"{method}.wav"), y, sample_rate=sample_rate)
  panels = [(f"{name}: {method}", representation.analyze(y, display), display)
            for name, sounds in report["audio"].items() for method, y in sounds.items()]
  columns = len(next(iter(report["audio"].values())))
  outputs.figure(os.path.join(output_dir, "grid.png"),
                 plots.grid_figure(inputs=[], results=panels, columns=columns))
  outputs.text_file(os.path.join(output_dir, "report.md"),
                    harness_markdown(report, command=command))
  outputs.json_file(os.path.join(output_dir, "report.json"),
                    {k: v for k, v in report.items() if k != "audio"} | {"command": command})
