"""A sweep run: the points of a grid (`jaxstyle.grid`), batched, resumed, summarised.

`run` groups the points whose configs differ only in loss weights and whose
spectrograms have equal shapes, runs each group as batches over this process's
devices (`jaxstyle.batch`), and writes each point's files (`pipeline.finish`) and
the summary (`jaxstyle.outputs`).
"""

from collections.abc import Sequence
import json
import os
import time

from absl import logging
import jax
import ml_collections

from jaxstyle import batch as batch_lib
from jaxstyle import grid
from jaxstyle import inputs as inputs_lib
from jaxstyle import outputs
from jaxstyle import pipeline
from jaxstyle.errors import InputError


def _point(p: grid.Point) -> dict:
  """What identifies a sweep point's result, as its JSON record holds it."""
  return {"index": p.index, "name": p.name, "settings": p.settings, "style": p.style,
          "content": p.content, "duration_s": p.duration_s, "seed": p.seed}


def _finished(p: grid.Point, output_dir: str) -> dict | None:
  """The record of a point done before: complete, for the same point and config."""
  return outputs.finished(os.path.join(output_dir, f"{p.name}.json"),
                          {"point": _point(p), "config": p.config.to_dict()})


def run(sc: ml_collections.ConfigDict, *, output_dir: str, resume: bool = False) -> dict | None:
  """The points of a sweep (`jaxstyle.grid.base`) this process owns, then the summary.

  Points whose configs differ only in loss weights and whose spectrograms have equal
  shapes run together, split over this process's devices, at most
  `sc.max_jobs_per_device` per device at a time. Each point's `<name>.wav` and
  `<name>.json` (as `pipeline.run`'s, with a `point` entry) are written as soon as its batch
  is done; no plots. In a multi-process run (`grid.initialize`) each process runs
  its share (`grid.process_share`) and, once all are done (`grid.finalize`),
  process 0 writes `summary.json` and `summary.csv` from the JSONs present.

  Args:
    sc: the sweep config (checked here).
    output_dir: where the points' files and the summary go.
    resume: skip points whose JSON is present and matches the point and its config.

  Returns:
    The summary (process 0), else None.
  """
  all_points = grid.points(sc)
  mine = grid.process_share(all_points)
  todo = [p for p in mine if not (resume and _finished(p, output_dir))]
  process_index, process_count = jax.process_index(), jax.process_count()
  mesh = batch_lib.local_mesh()
  logging.info("process %d of %d: %d of the %d points, %d to run, on %d device(s)",
               process_index, process_count, len(mine), len(all_points), len(todo), mesh.size)
  loaded, groups = {}, {}
  for p in todo:  # load and check every input before any work
    d = p.config.to_dict()
    for k in ("net", *batch_lib.WEIGHT_KEYS):
      d.pop(k)
    key = json.dumps([p.style, p.content, p.duration_s, d], sort_keys=True)
    if key not in loaded:
      loaded[key] = inputs_lib.load(p.config, style_paths=[s for s in p.style.split(",") if s],
                            content_path=p.content or None, duration_s=p.duration_s)
    inputs = loaded[key]
    if inputs.long:
      raise InputError(f"sweep point {p.name}: sweeps make outputs up to config.block_s "
                       f"({p.config.block_s:g} s) long")
    group = (batch_lib.static_key(p.config), inputs.n_frames, inputs.content is None)
    groups.setdefault(group, []).append((p, inputs))
  size = sc.max_jobs_per_device * mesh.size
  batches = [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]
  for b, batch in enumerate(batches, start=1):
    logging.info("batch %d/%d: %d point(s): %s", b, len(batches), len(batch),
                 ", ".join(p.name for p, _ in batch))
    t0 = time.perf_counter()
    results = batch_lib.synthesize_batch(
        [batch_lib.Job(p.config, inputs.style_specs, inputs.content_spec, p.seed)
         for p, inputs in batch], n_frames=batch[0][1].n_frames, mesh=mesh,
        variables=inputs_lib.variables(batch[0][0].config, batch[0][1]))
    # Compile and synthesis of the whole batch; total: each point's share.
    seconds = {"compile": results[0].compile_seconds, "synthesis": time.perf_counter() - t0,
               "jobs": len(batch), "total": (time.perf_counter() - t0) / len(batch)}
    for (p, inputs), result in zip(batch, results, strict=True):
      pipeline.finish(p.config, inputs, result, name=p.name, seed=p.seed, output_dir=output_dir,
              seconds=seconds, plot=False, extra={"point": {
                  **_point(p), "process_index": process_index, "process_count": process_count}})
  grid.finalize()
  return _write_summary(all_points, output_dir) if process_index == 0 else None


def _write_summary(all_points: Sequence[grid.Point], output_dir: str) -> dict:
  """`summary.json` and `summary.csv`: every point, its settings and, if done, its results."""
  keys = list(all_points[0].settings) if all_points else []
  rows = []
  for p in all_points:
    record = _finished(p, output_dir)
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
