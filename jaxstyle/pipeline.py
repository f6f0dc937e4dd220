"""One run end to end: audio files -> synthesis -> `<name>.wav`, `<name>.png`, `<name>.json`.

This is the library call behind `scripts/texture.py` and `scripts/stylize.py` (`run`,
and `run_batch` for several seeds or styles in one program) and `scripts/sweep.py`
(`run_sweep`). All input is checked before any work starts; the outputs of a
synthesis are written together, atomically and the JSON last, so a failed run
leaves none of them and a JSON present means its synthesis is complete.
"""

from collections.abc import Sequence
import ctypes
import dataclasses
import json
import math
import os
import resource
import shutil
import time

from absl import logging
import jax
import ml_collections
import numpy as np

from jaxstyle import audio
from jaxstyle import batch as batch_lib
from jaxstyle import blocks
from jaxstyle import checkpoint
from jaxstyle import config as config_lib
from jaxstyle import examples
from jaxstyle import frontend
from jaxstyle import grid
from jaxstyle import metrics
from jaxstyle import nets
from jaxstyle import outputs
from jaxstyle import plots
from jaxstyle import stereo
from jaxstyle import synthesis
from jaxstyle.errors import InputError

EXAMPLE_NAME = "example"


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


def _clip(path: str, c: ml_collections.ConfigDict, *, offset_s: float = 0.0,
          max_seconds: float | None = None) -> np.ndarray:
  y = audio.load(path, sample_rate=c.sample_rate, offset_s=offset_s, duration_s=max_seconds)
  return audio.check(y, name=path, n_fft=c.n_fft)


def _samples(duration_s: float, c: ml_collections.ConfigDict) -> int:
  n = int(round(duration_s * c.sample_rate)) if np.isfinite(duration_s) else 0
  if n < c.n_fft:
    raise InputError(f"--duration={duration_s} s is too short: at least one frame "
                     f"({c.n_fft / c.sample_rate:.3f} s) is needed")
  return n


def memory_bytes(c: ml_collections.ConfigDict, n_frames: int, n_freq: int) -> int:
  """A lower bound of the memory of one synthesis of `n_frames` x `n_freq`, in bytes.

  Counts float32 L-BFGS state (`2 * history_size + 4` copies of the spectrogram) and the
  first stack's convolution: its input patches and the outputs kept for the gradient.
  """
  spatial, in_channels = nets.input_layout(c.net.orientation, n_frames, n_freq)
  positions = math.prod(spatial)
  width = max(nets.kernel_sizes(c), default=c.net.kernel_size)
  patches = width ** (2 if c.net.orientation == "2d" else 1) * in_channels
  return 4 * (n_frames * n_freq * (2 * c.history_size + 4)
              + positions * (patches + 3 * c.net.channels))


def _check_memory(c: ml_collections.ConfigDict, n_frames: int, n_freq: int) -> None:
  """Refuses a synthesis whose `memory_bytes` exceed the machine's (or device's) memory."""
  need = memory_bytes(c, n_frames, n_freq)
  have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
  stats = jax.local_devices()[0].memory_stats() or {}
  have = min(have, stats.get("bytes_limit", have))
  if need > have:
    raise InputError(f"{n_frames} output frames need at least {need / 2**30:.3g} GiB, more than "
                     f"the {have / 2**30:.3g} GiB here: ask for a shorter --duration")


@dataclasses.dataclass(frozen=True)
class _Inputs:
  """The checked audio of one synthesis, its spectrograms and the output length."""

  styles: list[np.ndarray]  # waveforms [samples]
  style_names: list[str]  # file paths, or EXAMPLE_NAME
  style_specs: list[np.ndarray]  # network scale [time, freq]
  content: np.ndarray | None
  content_path: str | None
  content_spec: np.ndarray | None
  n_samples: int  # of the output
  n_frames: int
  long: bool = False  # longer than config.block_s: made in blocks (jaxstyle.blocks)

  def name(self) -> str:
    """The default output stem, from the input file names."""
    stem = lambda p: os.path.splitext(os.path.basename(p))[0]  # noqa: E731
    name = "_".join(stem(p) for p in self.style_names)
    return name if self.content_path is None else f"{stem(self.content_path)}_x_{name}"


def _inputs(c: ml_collections.ConfigDict, *, style_paths: Sequence[str],
            content_path: str | None, duration_s: float | None, shortest: bool = False,
            offset_s: float = 0.0, clip_s: float | None = None) -> _Inputs:
  """Loads and checks the audio of one synthesis (or, for `run_batch`, of its targets).

  Of each style file, the part from `offset_s`, `clip_s` long (default: to the end).
  The output is `duration_s` long, else as the content, else as the longest style
  clip (the shortest if `shortest`).
  """
  if content_path is None and not style_paths:
    styles = [examples.birds_and_rain(sample_rate=c.sample_rate)]
    style_names = [EXAMPLE_NAME]
  elif not style_paths:
    raise InputError("style transfer needs at least one --style file")
  elif not all(p.strip() for p in style_paths):
    raise InputError(f"--style={','.join(style_paths)} holds an empty file name")
  else:
    styles = [_clip(p, c, offset_s=offset_s, max_seconds=clip_s) for p in style_paths]
    style_names = list(style_paths)
  content = None if content_path is None else _clip(content_path, c, max_seconds=duration_s)
  if content is not None and duration_s is not None and content.size < _samples(duration_s, c):
    raise InputError(f"--duration={duration_s} s is longer than the content "
                     f"({content.size / c.sample_rate:.2f} s)")
  if content is not None:
    n_samples = content.size
  elif duration_s is not None:
    n_samples = _samples(duration_s, c)
  else:
    n_samples = (min if shortest else max)(s.size for s in styles)
  n_frames, n_samples = synthesis.output_length(c, n_samples)
  long = content is None and blocks.needed(c, n_samples)
  if long:
    blocks.check(c, n_samples)
  style_specs = [frontend.analyze(y, c) for y in styles]
  frames = blocks.frames(c, n_samples) if long else n_frames
  _check_memory(c, frames, style_specs[0].shape[1])
  return _Inputs(styles, style_names, style_specs, content,
                 content_path, None if content is None else frontend.analyze(content, c),
                 n_samples, n_frames, long)


def _variables(c: ml_collections.ConfigDict, inputs: _Inputs) -> dict:
  """The network's variables (`checkpoint.variables`) for the spectrograms of `inputs`."""
  frames = blocks.frames(c, inputs.n_samples) if inputs.long else inputs.n_frames
  return checkpoint.variables(c, frames, inputs.style_specs[0].shape[1])


def _log_inputs(inputs: _Inputs, c: ml_collections.ConfigDict) -> None:
  logging.info("%s: %d style clip(s), output %d frames (%.2f s)",
               "style transfer" if inputs.content is not None else "texture synthesis",
               len(inputs.styles), inputs.n_frames, inputs.n_samples / c.sample_rate)


def _record(c: ml_collections.ConfigDict, inputs: _Inputs, *, name: str, seed: int,
            channels: int, output: outputs.Output, history: dict, stop_reason: str | None,
            quality: dict, seconds: dict, extra: dict | None = None) -> dict:
  """The JSON record of one output; its final losses are those of the best iteration."""
  best = int(np.argmin(history["total"]))
  return {
      "name": name,
      "task": "texture" if inputs.content is None else "style_transfer",
      "style": inputs.style_names,
      "content": inputs.content_path,
      "seed": seed,
      "sample_rate": c.sample_rate,
      "duration_s": inputs.n_samples / c.sample_rate,
      "channels": channels,
      "output": {"file": f"{name}.{output.container}", "format": output.container,
                 "subtype": output.subtype, "sample_rate": output.rate or c.sample_rate},
      "config": c.to_dict(),
      "initial_losses": {k: v[0] for k, v in history.items() if k not in ("iteration", "seconds")},
      "final_losses": {k: v[best] for k, v in history.items() if k != "seconds"},
      "stop_reason": stop_reason,
      "quality": quality,
      "seconds": seconds,
      "jax": {"version": jax.__version__, "backend": jax.default_backend()},
      # The process's peak resident memory so far (Linux reports KiB).
      "peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      "history": history,
      **(extra or {}),
  }


def _plot(path: str, inputs: _Inputs, result: synthesis.Result, c: ml_collections.ConfigDict,
          *, title: str = "result") -> None:
  """The run's figure: the style (and content) spectrograms, `result`'s, its losses."""
  panels = [(f"style: {os.path.basename(n)}", s)
            for n, s in zip(inputs.style_names, inputs.style_specs, strict=True)]
  if inputs.content_spec is not None:
    panels.append((f"content: {os.path.basename(inputs.content_path)}", inputs.content_spec))
  panels.append((title, result.spectrogram))
  outputs.figure(path, plots.summary_figure(panels=panels, history=result.history, c=c))


def _finish(c: ml_collections.ConfigDict, inputs: _Inputs, result: synthesis.Result, *, name: str,
            seed: int, output_dir: str, seconds: dict[str, float], plot: bool = True,
            extra: dict | None = None, output: outputs.Output = outputs.WAV,
            stereo_pair: tuple[synthesis.Result, dict] | None = None) -> dict:
  """Phase reconstruction, quality measures and the files of one synthesis.

  Writes the audio `<name>.wav` (or the container of `output`), `<name>.png` (if
  `plot`) and `<name>.json` atomically, the JSON last. `seconds` (compile, synthesis,
  ...) go into the record, with `phase` and `total` (its value plus the time spent
  here) added; `extra` is merged into it. `stereo_pair`: a second, independent
  texture (seed + 1) and the stereo statistics (`stereo.target`) that the two are
  mixed to (`stereo.mix`); the file is then stereo.
  Returns the record.
  """
  t0 = time.perf_counter()
  wave, convergence = frontend.render(result, c, length=inputs.n_samples, seed=seed)
  if stereo_pair is not None:
    other, _ = frontend.render(stereo_pair[0], c, length=inputs.n_samples, seed=seed + 1)
    wave = stereo.mix(wave, other, stereo_pair[1], sample_rate_hz=c.sample_rate, n_fft=c.n_fft,
                      hop_length=c.hop_length, circular=c.loop)
  phase_s = time.perf_counter() - t0
  logging.info("phase reconstruction: %d iterations, spectral convergence %.4f, %.1fs",
               c.phase_iterations, convergence, phase_s)
  t1 = time.perf_counter()
  channels = [wave] if wave.ndim == 1 else list(wave)
  quality = metrics.evaluate(channels[0], sample_rate_hz=c.sample_rate, style=inputs.styles,
                             content=inputs.content, n_fft=c.n_fft, hop_length=c.hop_length)
  quality["spectral_convergence"] = convergence
  if c.loop:
    quality["seam"] = metrics.seam(channels[0], sample_rate_hz=c.sample_rate)
  if stereo_pair is not None:
    quality["right"] = metrics.evaluate(channels[1], sample_rate_hz=c.sample_rate,
                                        style=inputs.styles, n_fft=c.n_fft,
                                        hop_length=c.hop_length)["style"]
    quality["stereo"] = stereo.compare(wave, stereo_pair[1], sample_rate_hz=c.sample_rate)
    if c.loop:
      quality["seam_right"] = metrics.seam(channels[1], sample_rate_hz=c.sample_rate)
  logging.info("quality measures (%.1fs): %s", time.perf_counter() - t1, json.dumps(quality))

  record = _record(c, inputs, name=name, seed=seed, channels=len(channels), output=output,
                   history=result.history, stop_reason=result.stop_reason, quality=quality,
                   seconds={**seconds, "phase": phase_s,
                            "total": seconds["total"] + time.perf_counter() - t0},
                   extra=extra)
  exts = (output.container, "png", "json") if plot else (output.container, "json")
  paths = {ext: os.path.join(output_dir, f"{name}.{ext}") for ext in exts}
  with outputs.together(paths) as tmp:
    outputs.audio(tmp[output.container], wave, sample_rate=c.sample_rate, output=output)
    if plot:
      _plot(tmp["png"], inputs, result, c)
    outputs.json_file(tmp["json"], record)
  logging.info("wrote %s", ", ".join(paths.values()))
  return record


def run(
    c: ml_collections.ConfigDict,
    *,
    style_paths: Sequence[str],
    content_path: str | None = None,
    duration_s: float | None = None,
    output_dir: str,
    name: str | None = None,
    seed: int = 0,
    offset_s: float = 0.0,
    clip_s: float | None = None,
    output: outputs.Output = outputs.WAV,
    channels: int = 1,
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
    offset_s, clip_s: the part of each style file used: from `offset_s` seconds,
      `clip_s` long (default: to its end).
    output: the audio file's container, sample format and rate.
    channels: 1, or 2 for a stereo texture: two textures (seeds `seed` and `seed + 1`,
      one program) mixed so that their coherence and level difference per band follow
      the stereo style files (a diffuse field for mono ones; `jaxstyle.stereo`).

  Returns:
    The JSON record that was written.
  """
  start = time.perf_counter()
  config_lib.check(c)
  if channels not in (1, 2):
    raise InputError(f"--channels must be 1 or 2, got {channels}")
  if channels == 2 and content_path is not None:
    raise InputError("--channels=2 makes stereo textures; style transfer is mono")
  inputs = _inputs(c, style_paths=style_paths, content_path=content_path, duration_s=duration_s,
                   offset_s=offset_s, clip_s=clip_s)
  if inputs.long and channels == 2:
    raise InputError(f"--channels=2 makes stereo textures up to config.block_s "
                     f"({c.block_s:g} s) long; ask for a shorter --duration")
  _log_inputs(inputs, c)
  if inputs.long:
    return _run_long(c, inputs, name=name or inputs.name(), seed=seed, output_dir=output_dir,
                     output=output, start=start)
  t0 = time.perf_counter()
  stereo_pair = None
  if channels == 2:
    clips = [audio.load(p, sample_rate=c.sample_rate, offset_s=offset_s, duration_s=clip_s,
                        mono=False) for p in style_paths]
    result, partner = batch_lib.synthesize_batch(
        [batch_lib.Job(c, inputs.style_specs, None, seed + k) for k in range(2)],
        n_frames=inputs.n_frames, variables=_variables(c, inputs))
    stereo_pair = (partner, stereo.target(clips, sample_rate_hz=c.sample_rate))
  else:
    result = synthesis.synthesize(c, style=inputs.style_specs, content=inputs.content_spec,
                                  n_frames=inputs.n_frames, n_samples=inputs.n_samples, seed=seed,
                                  variables=_variables(c, inputs))
  seconds = {"compile": result.compile_seconds, "synthesis": time.perf_counter() - t0,
             "total": time.perf_counter() - start}
  return _finish(c, inputs, result, name=name or inputs.name(), seed=seed, output_dir=output_dir,
                 seconds=seconds, output=output, stereo_pair=stereo_pair)


def _check_disk(output_dir: str, need: float) -> None:
  """Refuses an output whose files (`need` bytes) the disk under `output_dir` cannot hold."""
  existing = os.path.abspath(output_dir)
  while not os.path.isdir(existing):
    existing = os.path.dirname(existing)
  free = shutil.disk_usage(existing).free
  if need > free:
    raise InputError(f"this output needs about {need / 2**30:.3g} GiB on the disk of "
                     f"{output_dir}, which has {free / 2**30:.3g} GiB free: ask for a shorter "
                     "--duration")


def _run_long(c: ml_collections.ConfigDict, inputs: _Inputs, *, name: str, seed: int,
              output_dir: str, output: outputs.Output, start: float) -> dict:
  """A texture longer than `c.block_s`, made in blocks (`jaxstyle.blocks`) and written as
  they come (`outputs.audio_stream`), so memory stays that of one block.

  The record's quality is that of the first minute against the style (`evaluate`),
  with `last_minute` (its style measures) and `joins` (`blocks.Listener`). Its history
  and plot are the first block's; `blocks` lists every block's losses, stop reason,
  samples and seconds.
  """
  p = blocks.plan(c, inputs.n_samples)
  _check_disk(output_dir, inputs.n_samples * (4 + 4 * (output.rate or c.sample_rate)
                                              / c.sample_rate))
  logging.info("%d blocks of %.1f s (config.block_s), each continuing the last", p.n_blocks,
               p.block / c.sample_rate)
  listener = blocks.Listener(p, n_samples=inputs.n_samples, sample_rate=c.sample_rate)
  per_block, first, convergence = [], None, []
  paths = {ext: os.path.join(output_dir, f"{name}.{ext}")
           for ext in (output.container, "png", "json")}
  t0 = time.perf_counter()
  with outputs.together({k: paths[k] for k in ("json", "png")}) as tmp, outputs.audio_stream(
      paths[output.container], sample_rate=c.sample_rate, output=output) as write:
    for b in blocks.synthesize(c, style=inputs.style_specs, n_samples=inputs.n_samples,
                               seed=seed, variables=_variables(c, inputs)):
      write(b.audio)
      listener.add(b.audio)
      first = first or b.result
      convergence.append(b.spectral_convergence)
      history = b.result.history
      per_block.append({
          "final_total": min(history["total"]), "iterations": history["iteration"][-1],
          "stop_reason": b.result.stop_reason, "samples": b.audio.size,
          "seconds": time.perf_counter() - t0 - sum(x["seconds"] for x in per_block)})
      logging.info("block %d/%d done: loss %.4g, %.1f s of output, %.0f s so far", b.index + 1,
                   p.n_blocks, per_block[-1]["final_total"],
                   sum(x["samples"] for x in per_block) / c.sample_rate,
                   time.perf_counter() - t0)
    synthesis_s = time.perf_counter() - t0
    kw = dict(sample_rate_hz=c.sample_rate, style=inputs.styles, n_fft=c.n_fft,
              hop_length=c.hop_length)
    quality = metrics.evaluate(listener.first_minute(), **kw)
    quality["last_minute"] = metrics.evaluate(listener.last_minute(), **kw)["style"]
    quality["spectral_convergence"] = float(np.mean(convergence))
    quality["joins"] = listener.summary()
    logging.info("quality: first minute %s; last minute %s; joins: %d, largest step %s",
                 json.dumps(quality["style"]["texture_stats"]),
                 json.dumps(quality["last_minute"]["texture_stats"]),
                 quality["joins"]["count"], quality["joins"]["max"])
    record = _record(c, inputs, name=name, seed=seed, channels=1, output=output,
                     history=first.history, stop_reason=first.stop_reason, quality=quality,
                     seconds={"compile": first.compile_seconds, "synthesis": synthesis_s,
                              "total": time.perf_counter() - start},
                     extra={"blocks": per_block})
    _plot(tmp["png"], inputs, first, c, title="result: the first block")
    outputs.json_file(tmp["json"], record)
  logging.info("wrote %s", ", ".join(paths.values()))
  return record


def run_batch(
    c: ml_collections.ConfigDict,
    *,
    style_paths: Sequence[str],
    content_path: str | None = None,
    duration_s: float | None = None,
    output_dir: str,
    name: str | None = None,
    seed: int = 0,
    batch: int = 1,
    offset_s: float = 0.0,
    clip_s: float | None = None,
    output: outputs.Output = outputs.WAV,
) -> list[dict]:
  """Several syntheses in one compiled program (`jaxstyle.batch.synthesize_batch`).

  Runs `batch` seeds (`seed`, `seed + 1`, ...) of each target over this process's
  devices. The target is every style file mixed (as `run`), or, with
  `c.batch_styles`, each style file alone: one output per style and seed. Each job
  gives what `run` gives for it alone (same seed, duration and output), up to
  floating-point rounding, and is written as `<stem>_seed<K>.wav/.png/.json`.

  All outputs of one program have one length: `duration_s`, else the content, else
  the longest style clip, or with `c.batch_styles` the shortest (logged). Style clips
  may differ in length, except for `net.orientation=time`, where time frames are
  channels and every clip must have the output's frame count.

  Args:
    c: config (checked here).
    style_paths, content_path, duration_s, output_dir, seed, offset_s, clip_s, output:
      as `run`.
    name: output stem (default from the input file names); with `c.batch_styles`,
      a prefix to each style's stem.
    batch: seeds per target.

  Returns:
    The JSON records written, targets outer, seeds inner.
  """
  start = time.perf_counter()
  config_lib.check(c)
  if batch < 1:
    raise InputError(f"--batch must be at least 1, got {batch}")
  inputs = _inputs(c, style_paths=style_paths, content_path=content_path, duration_s=duration_s,
                   shortest=c.batch_styles, offset_s=offset_s, clip_s=clip_s)
  if inputs.long:
    raise InputError(f"--batch makes outputs up to config.block_s ({c.block_s:g} s) long; "
                     "longer ones are made one at a time, in blocks (no --batch)")
  targets = [inputs]
  if c.batch_styles:
    targets = [dataclasses.replace(inputs, styles=[y], style_names=[n], style_specs=[s])
               for y, n, s in zip(inputs.styles, inputs.style_names, inputs.style_specs,
                                  strict=True)]
    if len(targets) > 1 and content_path is None and duration_s is None:
      logging.info("batch_styles: style clips of %s s; every output is %.2f s, the shortest "
                   "(--duration sets another length)",
                   ", ".join(f"{y.size / c.sample_rate:.2f}" for y in inputs.styles),
                   inputs.n_samples / c.sample_rate)
  if name is None:
    stems = [t.name() for t in targets]
  else:
    stems = [f"{name}_{t.name()}" for t in targets] if c.batch_styles else [name]
  names = [f"{stem}_seed{seed + k}" for stem in stems for k in range(batch)]
  if len(set(names)) < len(names):
    raise InputError(f"output names clash: {names} (style files with equal names?)")
  jobs = [batch_lib.Job(c, t.style_specs, t.content_spec, seed + k)
          for t in targets for k in range(batch)]
  _log_inputs(inputs, c)
  logging.info("%d jobs (%d target(s) x %d seed(s)) in one program on %d device(s)",
               len(jobs), len(targets), batch, jax.local_device_count())
  t0 = time.perf_counter()
  results = batch_lib.synthesize_batch(jobs, n_frames=inputs.n_frames, mesh=batch_lib.local_mesh(),
                                       variables=_variables(c, inputs))
  # In the records: compile and synthesis of the whole batch; total: this job's share.
  seconds = {"compile": results[0].compile_seconds, "synthesis": time.perf_counter() - t0,
             "jobs": len(jobs), "total": (time.perf_counter() - start) / len(jobs)}
  return [_finish(c, target, result, name=job_name, seed=job.seed, output_dir=output_dir,
                  seconds=seconds, output=output)
          for job, target, result, job_name in zip(
              jobs, [t for t in targets for _ in range(batch)], results, names, strict=True)]


def _point(p: grid.Point) -> dict:
  """What identifies a sweep point's result, as its JSON record holds it."""
  return json.loads(json.dumps({
      "index": p.index, "name": p.name, "settings": p.settings, "style": p.style,
      "content": p.content, "duration_s": p.duration_s, "seed": p.seed}))


def _finished(p: grid.Point, output_dir: str) -> dict | None:
  """The record of a point done before: complete, for the same point and config."""
  return outputs.finished(os.path.join(output_dir, f"{p.name}.json"),
                          {"point": _point(p), "config": p.config.to_dict()})


def run_sweep(sc: ml_collections.ConfigDict, *, output_dir: str,
              resume: bool = False) -> dict | None:
  """The points of a sweep (`jaxstyle.grid.base`) this process owns, then the summary.

  Points whose configs differ only in loss weights and whose spectrograms have equal
  shapes run together, split over this process's devices, at most
  `sc.max_jobs_per_device` per device at a time. Each point's `<name>.wav` and
  `<name>.json` (as `run`'s, with a `point` entry) are written as soon as its batch
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
      loaded[key] = _inputs(p.config, style_paths=[s for s in p.style.split(",") if s],
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
        variables=_variables(batch[0][0].config, batch[0][1]))
    # Compile and synthesis of the whole batch; total: each point's share.
    seconds = {"compile": results[0].compile_seconds, "synthesis": time.perf_counter() - t0,
               "jobs": len(batch), "total": (time.perf_counter() - t0) / len(batch)}
    for (p, inputs), result in zip(batch, results, strict=True):
      _finish(p.config, inputs, result, name=p.name, seed=p.seed, output_dir=output_dir,
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
