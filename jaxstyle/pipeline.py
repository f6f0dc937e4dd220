"""One run end to end: audio files -> synthesis -> `<name>.wav`, `<name>.png`, `<name>.json`.

This is the library call behind `scripts/texture.py` and `scripts/stylize.py`. All
input is checked before any work starts; the three outputs are written together at
the end, atomically, so a failed run leaves none of them.
"""

from collections.abc import Sequence
import contextlib
import json
import os
import time

from absl import logging
import jax
import ml_collections
import numpy as np

from jaxstyle import audio
from jaxstyle import config as config_lib
from jaxstyle import examples
from jaxstyle import frontend
from jaxstyle import metrics
from jaxstyle import plots
from jaxstyle import spectral
from jaxstyle import synthesis
from jaxstyle.errors import InputError

EXAMPLE_NAME = "example"


def enable_compilation_cache(path: str | None = None) -> None:
  """Turns on JAX's persistent compilation cache (default `~/.cache/jaxstyle/jax`)."""
  path = path or os.path.join(os.path.expanduser("~"), ".cache", "jaxstyle", "jax")
  jax.config.update("jax_compilation_cache_dir", path)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def _clip(path: str, c: ml_collections.ConfigDict, max_seconds: float | None = None) -> np.ndarray:
  y = audio.load(path, sample_rate=c.sample_rate)
  if max_seconds is not None:
    y = y[: int(round(max_seconds * c.sample_rate))]
  return audio.check(y, name=path, n_fft=c.n_fft)


def _samples(duration_s: float, c: ml_collections.ConfigDict) -> int:
  n = int(round(duration_s * c.sample_rate)) if np.isfinite(duration_s) else 0
  if n < c.n_fft:
    raise InputError(f"--duration={duration_s} s is too short: at least one frame "
                     f"({c.n_fft / c.sample_rate:.3f} s) is needed")
  return n


def run(
    c: ml_collections.ConfigDict,
    *,
    style_paths: Sequence[str],
    content_path: str | None = None,
    duration_s: float | None = None,
    output_dir: str,
    name: str | None = None,
    seed: int = 0,
) -> dict:
  """Texture synthesis (no `content_path`) or style transfer, written to `output_dir`.

  Args:
    c: config (checked here).
    style_paths: style audio files, mixed into one target; none: the built-in
      procedural example (texture synthesis only).
    content_path: content audio for style transfer.
    duration_s: output seconds; for style transfer the content is cut to it. Default:
      the longest style (texture) or the whole content.
    output_dir: where `<name>.wav`, `<name>.png` and `<name>.json` go.
    name: output file stem (default from the input file names).
    seed: seed of the noise init and of Griffin-Lim's initial phases.

  Returns:
    The JSON record that was written.
  """
  start = time.perf_counter()
  config_lib.check(c)
  if content_path is None and not style_paths:
    styles = [examples.birds_and_rain(sample_rate=c.sample_rate)]
    style_names = [EXAMPLE_NAME]
  elif not style_paths:
    raise InputError("style transfer needs at least one --style file")
  else:
    styles = [_clip(p, c) for p in style_paths]
    style_names = list(style_paths)
  content = None if content_path is None else _clip(content_path, c, duration_s)
  if content is not None and duration_s is not None and content.size < _samples(duration_s, c):
    raise InputError(f"--duration={duration_s} s is longer than the content "
                     f"({content.size / c.sample_rate:.2f} s)")
  if content is not None:
    n_samples = content.size
  elif duration_s is not None:
    n_samples = _samples(duration_s, c)
  else:
    n_samples = max(s.size for s in styles)
  stem = lambda p: os.path.splitext(os.path.basename(p))[0]  # noqa: E731
  if name is None:
    name = "_".join(stem(p) for p in style_names)
    if content_path is not None:
      name = f"{stem(content_path)}_x_{name}"

  style_specs = [frontend.analyze(y, c) for y in styles]
  content_spec = None if content is None else frontend.analyze(content, c)
  n_frames = spectral.num_frames(n_samples, hop_length=c.hop_length, n_fft=c.n_fft)
  logging.info("%s: %d style clip(s), output %d frames (%.2f s)",
               "style transfer" if content is not None else "texture synthesis",
               len(styles), n_frames, n_samples / c.sample_rate)

  t0 = time.perf_counter()
  result = synthesis.synthesize(c, style=style_specs, content=content_spec, n_frames=n_frames,
                                seed=seed)
  synthesis_s = time.perf_counter() - t0
  t0 = time.perf_counter()
  wave, convergence = frontend.resynthesize(result.spectrogram, c, length=n_samples, seed=seed)
  phase_s = time.perf_counter() - t0
  logging.info("phase reconstruction: %d iterations, spectral convergence %.4f, %.1fs",
               c.phase_iterations, convergence, phase_s)
  t0 = time.perf_counter()
  quality = metrics.evaluate(wave, sample_rate_hz=c.sample_rate, style=styles, content=content,
                             n_fft=c.n_fft, hop_length=c.hop_length)
  quality["spectral_convergence"] = convergence
  logging.info("quality measures (%.1fs): %s", time.perf_counter() - t0, json.dumps(quality))

  history = result.history
  best = int(np.argmin(history["total"]))
  record = {
      "name": name,
      "task": "texture" if content is None else "style_transfer",
      "style": style_names,
      "content": content_path,
      "seed": seed,
      "sample_rate": c.sample_rate,
      "duration_s": n_samples / c.sample_rate,
      "config": c.to_dict(),
      "initial_losses": {k: v[0] for k, v in history.items() if k not in ("iteration", "seconds")},
      "final_losses": {k: v[best] for k, v in history.items() if k != "seconds"},
      "stop_reason": result.stop_reason,
      "quality": quality,
      "seconds": {"compile": result.compile_seconds, "synthesis": synthesis_s,
                  "phase": phase_s, "total": time.perf_counter() - start},
      "jax": {"version": jax.__version__, "backend": jax.default_backend()},
      "history": history,
  }
  panels = [(f"style: {os.path.basename(n)}", s)
            for n, s in zip(style_names, style_specs, strict=True)]
  if content_spec is not None:
    panels.append((f"content: {os.path.basename(content_path)}", content_spec))
  panels.append(("result", result.spectrogram))

  paths = {ext: os.path.join(output_dir, f"{name}.{ext}") for ext in ("wav", "png", "json")}
  with contextlib.ExitStack() as stack:
    tmp = {ext: stack.enter_context(audio.atomic_path(p)) for ext, p in paths.items()}
    audio.save_wav(tmp["wav"], wave, sample_rate=c.sample_rate)
    plots.summary_figure(tmp["png"], panels=panels, history=history,
                         sample_rate=c.sample_rate, hop_length=c.hop_length)
    with open(tmp["json"], "w") as f:
      json.dump(record, f, indent=1)
  logging.info("wrote %s", ", ".join(paths.values()))
  return record
