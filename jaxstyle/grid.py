"""Sweeps: a jaxstyle config and a grid over its keys and its inputs, over processes.

A sweep config (`base()`) is a jaxstyle config and a grid over its keys and over
`seed`, `style`, `content` and `duration_s`. `points` lists the grid, `process_share`
gives each process of a multi-host run its points (`initialize`), and `finalize`
waits for all of them. `jaxstyle.sweep.run` runs a sweep (batching its
points with `jaxstyle.batch`) and writes its files.
"""

from collections.abc import Sequence
import copy
import dataclasses
import itertools
import json
import os
import re
from typing import Any

import jax
import ml_collections
from ml_collections import config_dict

from jaxstyle import config as config_lib
from jaxstyle.errors import InputError

POINT_KEYS = ("seed", "style", "content", "duration_s")  # grid keys besides config keys
BARRIER_TIMEOUT_S = 7 * 24 * 3600  # how long `finalize` waits for the slowest process


def base() -> ml_collections.ConfigDict:
  """The sweep config schema: a jaxstyle config, the inputs and a grid over both.

  `configs/sweep_*.py` start from it. Every point of the grid is one synthesis with
  `config` changed at the grid's config keys (dotted, e.g. `net.kernel_size`) and
  `style`, `content`, `duration_s` and `seed` changed at those grid keys.
  """
  sc = ml_collections.ConfigDict()
  sc.config = config_lib.base()
  sc.style = ""  # comma-separated style files (one multi-texture target); "": built-in example
  sc.content = ""  # content file for style transfer; "": texture synthesis
  sc.duration_s = config_dict.placeholder(float)  # output seconds; None: as `pipeline.run`
  sc.seed = 0
  sc.max_jobs_per_device = 8  # jobs of one compiled program per device
  # Values to sweep, e.g. grid.style_weight = (1e8, 1e9); grid.net.kernel_size = (5, 11).
  sc.grid = ml_collections.ConfigDict()
  return sc


@dataclasses.dataclass(frozen=True)
class Point:
  """One grid point: a synthesis and where its files go.

  Attributes:
    index: position in the grid (the last grid key varies fastest).
    name: file stem, `<index>_<key>=<value>_...`.
    settings: `{grid key: value}`, JSON-serialisable.
    config: the checked jaxstyle config of this point.
    style, content, duration_s, seed: its inputs, as the sweep config's keys.
  """

  index: int
  name: str
  settings: dict[str, Any]
  config: ml_collections.ConfigDict
  style: str
  content: str
  duration_s: float | None
  seed: int


def _label(key: str, value: Any) -> str:
  if key == "style":
    stems = [os.path.splitext(os.path.basename(p))[0] for p in value.split(",") if p]
    value = "+".join(stems) or "example"
  elif key == "content":
    value = os.path.splitext(os.path.basename(value))[0] or "none"
  elif isinstance(value, float):
    value = f"{value:g}"
  return re.sub(r"[^A-Za-z0-9._+=-]", "-", f"{key.split('.')[-1]}={value}")


def points(sc: ml_collections.ConfigDict) -> list[Point]:
  """Every point of a sweep config's grid, each config checked; `InputError` if bad."""
  items = list(config_lib.flatten(sc.grid.to_dict()).items())
  for key, values in items:
    if key not in POINT_KEYS:
      try:
        known = not isinstance(config_lib.get(sc.config, key), ml_collections.ConfigDict)
      except (KeyError, AttributeError):
        known = False
      if not known:
        raise InputError(f"grid.{key}: not a config key nor one of {POINT_KEYS}")
    if not isinstance(values, tuple | list) or not values:
      raise InputError(f"grid.{key} must be a non-empty tuple of values, got {values!r}")
  if not 1 <= sc.max_jobs_per_device:
    raise InputError(f"max_jobs_per_device must be positive, got {sc.max_jobs_per_device}")
  result = []
  for index, values in enumerate(itertools.product(*(v for _, v in items))):
    settings = dict(zip((k for k, _ in items), values, strict=True))
    c = copy.deepcopy(sc.config)
    inputs = {k: sc[k] for k in POINT_KEYS}
    for key, value in settings.items():
      if key in POINT_KEYS:
        inputs[key] = value
      else:
        config_lib.override(c, key, value, where=f"grid.{key}")
    config_lib.check(c)
    name = "_".join([f"{index:04d}", *(_label(k, v) for k, v in settings.items())])
    result.append(Point(index, name, json.loads(json.dumps(settings)), c, **inputs))
  return result


def process_share(all_points: Sequence[Point], *, process_index: int | None = None,
                  process_count: int | None = None) -> list[Point]:
  """This process's points: point `i` goes to process `i % process_count`.

  Defaults: `jax.process_index()` and `jax.process_count()`.
  """
  if process_index is None:
    process_index = jax.process_index()
  if process_count is None:
    process_count = jax.process_count()
  return [p for p in all_points if p.index % process_count == process_index]


def initialize(*, coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
  """Joins a multi-process run (`jax.distributed.initialize`); call before any JAX work.

  Arguments left None come from the environment: `JAX_COORDINATOR_ADDRESS`, or the
  cluster JAX detects (SLURM, Open MPI, Kubernetes, Cloud TPU). The processes share
  no computation (each runs its points on its own devices); `finalize` waits for all.
  """
  jax.distributed.initialize(coordinator_address, num_processes, process_id,
                             shutdown_timeout_seconds=BARRIER_TIMEOUT_S)


def finalize() -> None:
  """Waits until every process of a multi-process run is here (at most `BARRIER_TIMEOUT_S`).

  The barrier is `jax.distributed.shutdown`'s, so no process (the coordinator
  included) leaves while another still works; a no-op in a single-process run.
  """
  if jax.distributed.is_initialized():
    jax.distributed.shutdown()
