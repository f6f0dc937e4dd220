"""Running points: a sweep's (`jaxstyle.grid`) or an experiment's variants, batched and
resumed.

`run_points` groups the points whose configs differ only in loss weights and whose
spectrograms have equal shapes, runs each group as batches over this process's
devices (`jaxstyle.batch`) and writes each point's files (`pipeline.finish`); `run`
runs a sweep config's share of points and its summary (`jaxstyle.reports`).
"""

from collections.abc import Sequence
import dataclasses
import json
import os
import time

from absl import logging
import jax
import ml_collections

from jaxstyle import batch as batch_lib
from jaxstyle import config as config_lib
from jaxstyle import grid
from jaxstyle import inputs as inputs_lib
from jaxstyle import outputs
from jaxstyle import pipeline
from jaxstyle import reports
from jaxstyle.errors import InputError


def _point(p: grid.Point) -> dict:
  """What identifies a sweep point's result, as its JSON record holds it."""
  return {"index": p.index, "name": p.name, "settings": p.settings, "style": p.style,
          "content": p.content, "duration_s": p.duration_s, "seed": p.seed}


def _styles(p: grid.Point) -> list[str]:
  return [s for s in p.style.split(",") if s]


def _finished(p: grid.Point, output_dir: str) -> dict | None:
  """The record of a point done before: complete, for the same point and config."""
  return outputs.finished(os.path.join(output_dir, f"{p.name}.json"),
                          {"point": _point(p), "config": p.config.to_dict()})


def run_points(points: Sequence[grid.Point], *, output_dir: str, resume: bool = False,
               jobs_per_device: int = 8, plot: bool = False) -> None:
  """Runs `points` (this process's), writing each one's files as soon as it is done.

  Points whose configs differ only in loss weights and whose spectrograms have equal
  shapes run together, split over this process's devices, at most `jobs_per_device`
  per device at a time (`batch.synthesize`; a batch of one runs unbatched and
  writes what `pipeline.run` writes). Each point's `<name>.wav` and `<name>.json` (as
  `pipeline.run`'s, with a `point` entry) and, if `plot`, `<name>.png` are written as
  soon as its batch is done. A point longer than `config.block_s` runs alone, in
  blocks (`pipeline.run`). Every input is loaded and checked before any work starts.

  Args:
    points: the points to run (`grid.points`, or an experiment's variants).
    output_dir: where the points' files go.
    resume: skip points whose JSON is present and matches the point and its config.
    jobs_per_device: the most points of one program per device.
    plot: also write each point's figure.
  """
  if jobs_per_device < 1:
    raise InputError(f"jobs per device must be positive, got {jobs_per_device}")
  todo = []
  for p in points:
    if resume and _finished(p, output_dir):
      logging.info("%s: skipped, its JSON is there (--resume)", p.name)
    else:
      todo.append(p)
  process_index, process_count = jax.process_index(), jax.process_count()
  mesh = batch_lib.local_mesh()
  logging.info("%d points, %d to run, on %d device(s)", len(points), len(todo), mesh.size)
  loaded, groups, long = {}, {}, []
  for p in todo:  # load and check every input before any work
    # What the inputs depend on: all but the weights and the net (its stacks round a loop).
    d = {k: v for k, v in p.config.to_dict().items() if not k.endswith("_weight")}
    d["net"] = {"stacks": d["net"]["stacks"]}
    key = json.dumps([p.style, p.content, p.duration_s, d], sort_keys=True)
    if key not in loaded:
      loaded[key] = inputs_lib.load(p.config, style_paths=_styles(p),
                                    content_path=p.content or None, duration_s=p.duration_s)
    inputs = loaded[key]
    inputs = dataclasses.replace(inputs, spec=config_lib.spec(
        p.config, n_samples=inputs.spec.n_samples))
    if inputs.long:
      long.append(p)
      continue
    group = (batch_lib.program(inputs.spec), p.config.params, inputs.content is None)
    groups.setdefault(group, []).append((p, inputs))
  extra = lambda p: {"point": {**_point(p), "process_index": process_index,  # noqa: E731
                               "process_count": process_count}}
  size = jobs_per_device * mesh.size
  batches = [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]
  for b, batch in enumerate(batches, start=1):
    logging.info("batch %d/%d: %d point(s): %s", b, len(batches), len(batch),
                 ", ".join(p.name for p, _ in batch))
    t0 = time.perf_counter()
    first, inputs = batch[0]
    results = batch_lib.synthesize(
        [batch_lib.Job(inputs.spec, inputs.style_specs, inputs.content_spec, p.seed,
                       waves=inputs.styles) for p, inputs in batch],
        mesh=mesh, variables=inputs_lib.variables(first.config, inputs))
    # Compile and synthesis of the whole batch; total: each point's share.
    seconds = {"compile": results[0].compile_s, "synthesis": time.perf_counter() - t0,
               "jobs": len(batch), "total": (time.perf_counter() - t0) / len(batch)}
    for (p, inputs), result in zip(batch, results, strict=True):
      pipeline.finish(p.config, inputs, result, name=p.name, seed=p.seed, output_dir=output_dir,
                      seconds=seconds, plot=plot, extra=extra(p))
  for p in long:
    logging.info("%s: longer than config.block_s, made alone in blocks", p.name)
    pipeline.run(p.config, style_paths=_styles(p), duration_s=p.duration_s,
                 output_dir=output_dir, name=p.name, seed=p.seed, extra=extra(p))


def run(sc: ml_collections.ConfigDict, *, output_dir: str, resume: bool = False) -> dict | None:
  """The points of a sweep (`jaxstyle.grid.base`) this process owns, then the summary.

  The points run as `run_points` runs them, at most `sc.max_jobs_per_device` per
  device at a time; no plots. In a multi-process run (`grid.initialize`) each process
  runs its share (`grid.process_share`) and, once all are done (`grid.finalize`),
  process 0 writes `summary.json` and `summary.csv` from the JSONs present
  (`reports.sweep_summary`).

  Args:
    sc: the sweep config (checked here).
    output_dir: where the points' files and the summary go.
    resume: skip points whose JSON is present and matches the point and its config.

  Returns:
    The summary (process 0), else None.
  """
  outputs.check_directory(output_dir)
  all_points = grid.points(sc)
  mine = grid.process_share(all_points)
  logging.info("process %d of %d: %d of the %d points", jax.process_index(),
               jax.process_count(), len(mine), len(all_points))
  run_points(mine, output_dir=output_dir, resume=resume, jobs_per_device=sc.max_jobs_per_device)
  grid.finalize()
  if jax.process_index():
    return None
  return reports.sweep_summary(all_points, [_finished(p, output_dir) for p in all_points],
                               output_dir)
