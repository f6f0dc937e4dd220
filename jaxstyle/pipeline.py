"""One run end to end: audio files -> synthesis -> `<name>.wav`, `<name>.png`, `<name>.json`.

This is the library call behind `scripts/texture.py` and `scripts/stylize.py` (`run`,
and `run_batch` for several seeds or styles in one program); `finish` (phase, quality
measures, record, files) also ends each point of `jaxstyle.sweep.run`. All input is
checked before any work starts (`jaxstyle.inputs`); the outputs of a synthesis are
written together (`jaxstyle.outputs`), the JSON last, so a failed run leaves none of
them and a JSON present means its synthesis is complete.
"""

from collections.abc import Sequence
import dataclasses
import json
import os
import resource
import time

from absl import logging
import jax
import ml_collections
import numpy as np

from jaxstyle import audio
from jaxstyle import batch as batch_lib
from jaxstyle import blocks
from jaxstyle import config as config_lib
from jaxstyle import inputs as inputs_lib
from jaxstyle import metrics
from jaxstyle import outputs
from jaxstyle import plots
from jaxstyle import stereo
from jaxstyle import synthesis
from jaxstyle.errors import InputError


def _record(c: ml_collections.ConfigDict, inputs: inputs_lib.Inputs, *, name: str, seed: int,
            channels: int, output: outputs.Output, history: dict, stop_reason: str | None,
            quality: dict, seconds: dict, refine_history: dict | None = None,
            extra: dict | None = None) -> dict:
  """The JSON record of one output; its final losses are those of the best iteration
  (of the spectrogram stage; `refine_history` is the waveform stage's, or None)."""
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
      "variation": _variation(inputs.variation),
      "initial_losses": {k: v[0] for k, v in history.items() if k not in ("iteration", "seconds")},
      "final_losses": {k: v[best] for k, v in history.items() if k != "seconds"},
      "stop_reason": stop_reason,
      "quality": quality,
      "seconds": seconds,
      "jax": {"version": jax.__version__, "backend": jax.default_backend()},
      # The process's peak resident memory so far (Linux reports KiB).
      "peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      "history": history,
      "refine_history": refine_history,
      **(extra or {}),
  }


def _variation(v: inputs_lib.Variation) -> dict:
  """The record of a `Variation`: weights, morph and curves as JSON."""
  curve = lambda k: None if k is None else {"times_s": list(k.times_s),  # noqa: E731
                                            "values": list(k.values)}
  shape = v.morph_curve if isinstance(v.morph_curve, str) else curve(v.morph_curve)
  return {"weights": None if v.weights is None else list(v.weights),
          "morph_to": list(v.morph_to), "morph_curve": shape if v.morph_to else None,
          "level_db": curve(v.level_db), "tilt_db_per_octave": curve(v.tilt_db_per_octave)}


def _plot(path: str, inputs: inputs_lib.Inputs, result: synthesis.Result, *,
          title: str = "result") -> None:
  """The run's figure: the style (and content) spectrograms, `result`'s, its losses."""
  panels = [(f"style: {os.path.basename(n)}", s)
            for n, s in zip(inputs.style_names, inputs.style_specs, strict=True)]
  if inputs.content_spec is not None:
    panels.append((f"content: {os.path.basename(inputs.content_path)}", inputs.content_spec))
  panels.append((title, result.spectrogram))
  outputs.figure(path, plots.summary_figure(panels=panels, history=result.history,
                                            r=inputs.spec.representation))


def finish(c: ml_collections.ConfigDict, inputs: inputs_lib.Inputs, result: synthesis.Result, *,
           name: str, seed: int, output_dir: str, seconds: dict[str, float], plot: bool = True,
            extra: dict | None = None, output: outputs.Output = outputs.WAV,
            stereo_pair: tuple[synthesis.Result, dict] | None = None) -> dict:
  """Quality measures and the files of one synthesis.

  Writes the audio `<name>.wav` (or the container of `output`), `<name>.png` (if
  `plot`) and `<name>.json` atomically, the JSON last. `seconds` (compile, synthesis,
  ...) go into the record, with `total` (its value plus the time spent here) added;
  `extra` is merged into it. `stereo_pair`: a second, independent texture (seed + 1)
  and the stereo statistics (`stereo.target`) that the two are mixed to
  (`stereo.mix`); the file is then stereo.
  Returns the record.
  """
  t0 = time.perf_counter()
  wave, convergence = result.audio, result.convergence
  if stereo_pair is not None:
    wave = stereo.mix(wave, stereo_pair[0].audio, stereo_pair[1], sample_rate=c.sample_rate,
                      n_fft=c.n_fft, hop_length=c.hop_length, circular=c.loop)
  channels = [wave] if wave.ndim == 1 else list(wave)
  quality = metrics.evaluate(channels[0], sample_rate=c.sample_rate, style=inputs.styles,
                             content=inputs.content, n_fft=c.n_fft, hop_length=c.hop_length)
  quality["spectral_convergence"] = convergence
  if c.loop:
    quality["seam"] = metrics.seam(channels[0], sample_rate=c.sample_rate)
  if stereo_pair is not None:
    quality["right"] = metrics.evaluate(channels[1], sample_rate=c.sample_rate,
                                        style=inputs.styles, n_fft=c.n_fft,
                                        hop_length=c.hop_length)["style"]
    quality["stereo"] = stereo.compare(wave, stereo_pair[1], sample_rate=c.sample_rate)
    if c.loop:
      quality["seam_right"] = metrics.seam(channels[1], sample_rate=c.sample_rate)
  logging.info("quality: %s", _quality_line(quality))
  logging.vlog(1, "quality measures: %s", json.dumps(quality))

  record = _record(c, inputs, name=name, seed=seed, channels=len(channels), output=output,
                   history=result.history, stop_reason=result.stop_reason, quality=quality,
                   refine_history=result.refine_history,
                   seconds={**seconds, "total": seconds["total"] + time.perf_counter() - t0},
                   extra=extra)
  exts = (output.container, "png", "json") if plot else (output.container, "json")
  paths = {ext: os.path.join(output_dir, f"{name}.{ext}") for ext in exts}
  with outputs.together(paths) as tmp:
    outputs.audio(tmp[output.container], wave, sample_rate=c.sample_rate, output=output)
    if plot:
      _plot(tmp["png"], inputs, result)
    outputs.json_file(tmp["json"], record)
  logging.info("wrote %s (%.0f s)", ", ".join(paths.values()), record["seconds"]["total"])
  return record


def _quality_line(q: dict) -> str:
  """The headline quality measures of a record's `quality`, as one short phrase."""
  parts = []
  if "style" in q:
    s = q["style"]
    parts += [f"texture statistics {s['texture_stats']['total']:.3f} from the style",
              f"log-mel {s['log_mel_db']:.2f} dB", f"{100 * s['copy']['fraction']:.0f}% copied"]
  if "content" in q:
    parts.append(f"onset correlation {q['content']['onset_correlation']:.2f} with the content")
  parts.append(f"phase: spectral convergence {q['spectral_convergence']:.2f}")
  return ", ".join(parts)


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
    variation: inputs_lib.Variation = inputs_lib.STILL,
    extra: dict | None = None,
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
    variation: the style files' weights, a morph to other files, level and tilt curves
      (`inputs.Variation`).
    extra: entries added to the record (e.g. a sweep point's).

  Returns:
    The JSON record that was written.
  """
  start = time.perf_counter()
  config_lib.check(c)
  outputs.check_directory(output_dir)
  if channels not in (1, 2):
    raise InputError(f"--channels must be 1 or 2, got {channels}")
  if channels == 2 and content_path is not None:
    raise InputError("--channels=2 makes stereo textures; style transfer is mono")
  if channels == 2 and variation.morph_to:
    raise InputError("--channels=2 makes stereo textures of one style; a morph is mono")
  inputs = inputs_lib.load(c, style_paths=style_paths, content_path=content_path,
                           duration_s=duration_s, offset_s=offset_s, clip_s=clip_s,
                           variation=variation)
  if inputs.long and channels == 2:
    raise InputError(f"--channels=2 makes stereo textures up to config.block_s "
                     f"({c.block_s:g} s) long; ask for a shorter --duration_s")
  inputs_lib.log(inputs, c)
  if inputs.long:
    return _run_long(c, inputs, name=name or inputs.name(), seed=seed, output_dir=output_dir,
                     output=output, start=start, extra=extra)
  t0 = time.perf_counter()
  stereo_pair = None
  variables = inputs_lib.variables(c, inputs)
  targets = inputs_lib.targets(inputs, variables)
  if channels == 2:
    clips = [audio.load(p, sample_rate=c.sample_rate, offset_s=offset_s, duration_s=clip_s,
                        mono=False) for p in style_paths]
    result, partner = batch_lib.synthesize(
        [batch_lib.Job(inputs.spec, inputs.style_specs, None, seed + k, targets)
         for k in range(2)], variables=variables)
    stereo_pair = (partner, stereo.target(clips, sample_rate=c.sample_rate))
  else:
    (result,) = batch_lib.synthesize(
        [batch_lib.Job(inputs.spec, inputs.style_specs, inputs.content_spec, seed, targets)],
        variables=variables)
  if (shape := inputs_lib.shaper(inputs)) is not None:
    result = dataclasses.replace(result, audio=shape(result.audio, 0))
    if stereo_pair is not None:
      stereo_pair = (dataclasses.replace(partner, audio=shape(partner.audio, 0)), stereo_pair[1])
  seconds = {"compile": result.compile_s, "synthesis": time.perf_counter() - t0,
             "total": time.perf_counter() - start}
  return finish(c, inputs, result, name=name or inputs.name(), seed=seed, output_dir=output_dir,
                seconds=seconds, output=output, stereo_pair=stereo_pair, extra=extra)


def _run_long(c: ml_collections.ConfigDict, inputs: inputs_lib.Inputs, *, name: str, seed: int,
              output_dir: str, output: outputs.Output, start: float,
              extra: dict | None = None) -> dict:
  """A texture longer than `c.block_s`, made in blocks (`jaxstyle.blocks`) and written as
  they come (`outputs.audio_stream`), so memory stays that of one block.

  The record's quality is that of the first minute against the style (`evaluate`),
  with `last_minute` (its style measures) and `joins` (`blocks.Listener`). Its history
  and plot are the first block's; `blocks` lists every block's losses, stop reason,
  samples and seconds.
  """
  p = inputs.plan
  inputs_lib.check_disk(output_dir, inputs.n_samples * (4 + 4 * (output.rate or c.sample_rate)
                                              / c.sample_rate))
  logging.info("%d block(s) of %.1f s, each continuing the last", p.n_blocks,
               p.block / c.sample_rate)
  listener = blocks.Listener(p, n_samples=inputs.n_samples, sample_rate=c.sample_rate)
  per_block, first, convergence = [], None, []
  paths = {ext: os.path.join(output_dir, f"{name}.{ext}")
           for ext in (output.container, "png", "json")}
  t0 = time.perf_counter()
  with outputs.together({k: paths[k] for k in ("json", "png")}) as tmp, outputs.audio_stream(
      paths[output.container], sample_rate=c.sample_rate, output=output) as write:
    variables = inputs_lib.variables(c, inputs)
    for b in blocks.synthesize(inputs.spec, inputs_lib.targets(inputs, variables), p,
                               n_samples=inputs.n_samples, seed=seed, variables=variables,
                               shaper=inputs_lib.shaper(inputs)):
      write(b.audio)
      listener.add(b.audio)
      first = first or b.result
      convergence.append(b.result.convergence)
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
    kw = dict(sample_rate=c.sample_rate, style=inputs.styles, n_fft=c.n_fft,
              hop_length=c.hop_length)
    quality = metrics.evaluate(listener.first_minute(), **kw)
    quality["last_minute"] = metrics.evaluate(listener.last_minute(), **kw)["style"]
    quality["spectral_convergence"] = float(np.mean(convergence))
    quality["joins"] = listener.summary()
    logging.info("quality (first minute): %s; last minute: texture statistics %.3f; %d "
                 "joins, largest step %s", _quality_line(quality),
                 quality["last_minute"]["texture_stats"]["total"], quality["joins"]["count"],
                 quality["joins"]["max"])
    record = _record(c, inputs, name=name, seed=seed, channels=1, output=output,
                     history=first.history, stop_reason=first.stop_reason, quality=quality,
                     refine_history=first.refine_history,
                     seconds={"compile": first.compile_s, "synthesis": synthesis_s,
                              "total": time.perf_counter() - start},
                     extra={"blocks": per_block, **(extra or {})})
    _plot(tmp["png"], inputs, first, title="result: the first block")
    outputs.json_file(tmp["json"], record)
  logging.info("wrote %s (%.0f s)", ", ".join(paths.values()), record["seconds"]["total"])
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
  """Several syntheses in one compiled program (`jaxstyle.batch.synthesize`).

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
  outputs.check_directory(output_dir)
  if batch < 1:
    raise InputError(f"--batch must be at least 1, got {batch}")
  inputs = inputs_lib.load(c, style_paths=style_paths, content_path=content_path,
                           duration_s=duration_s, shortest=c.batch_styles, offset_s=offset_s,
                           clip_s=clip_s)
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
                   "(--duration_s sets another length)",
                   ", ".join(f"{y.size / c.sample_rate:.2f}" for y in inputs.styles),
                   inputs.n_samples / c.sample_rate)
  if name is None:
    stems = [t.name() for t in targets]
  else:
    stems = [f"{name}_{t.name()}" for t in targets] if c.batch_styles else [name]
  names = [f"{stem}_seed{seed + k}" for stem in stems for k in range(batch)]
  if len(set(names)) < len(names):
    raise InputError(f"output names clash: {names} (style files with equal names?)")
  jobs = [batch_lib.Job(inputs.spec, t.style_specs, t.content_spec, seed + k, waves=t.styles)
          for t in targets for k in range(batch)]
  inputs_lib.log(inputs, c)
  logging.info("%d jobs (%d target(s) x %d seed(s)) in one program on %d device(s)",
               len(jobs), len(targets), batch, jax.local_device_count())
  t0 = time.perf_counter()
  results = batch_lib.synthesize(jobs, mesh=batch_lib.local_mesh(),
                                 variables=inputs_lib.variables(c, inputs))
  # In the records: compile and synthesis of the whole batch; total: this job's share.
  seconds = {"compile": results[0].compile_s, "synthesis": time.perf_counter() - t0,
             "jobs": len(jobs), "total": (time.perf_counter() - start) / len(jobs)}
  return [finish(c, target, result, name=job_name, seed=job.seed, output_dir=output_dir,
                  seconds=seconds, output=output)
          for job, target, result, job_name in zip(
              jobs, [t for t in targets for _ in range(batch)], results, names, strict=True)]


