"""The texture-quality harness: textures of real recordings scored beside baselines.

For each recording, a style excerpt from its first half and a held-out excerpt of
the same length from its second half. Every method (the configs under test and the
baselines `BASELINES`) makes a texture from the style excerpt alone; each texture is
scored against the style excerpt and against the held-out one (`score`), so a
faithful texture scores about as well on both while a copy of the excerpt does not.
`scripts/evaluate_set.py` runs it and writes the report.

Waveforms are mono float `[samples]` at one sample rate.
"""

import ast
from collections.abc import Callable, Sequence
import dataclasses
import os
import time

from absl import logging
import jax.numpy as jnp
import librosa
import ml_collections
import numpy as np

from jaxstyle import api
from jaxstyle import audio
from jaxstyle import batch
from jaxstyle import config as config_lib
from jaxstyle import metrics
from jaxstyle import objective
from jaxstyle import representation
from jaxstyle import synthesis
from jaxstyle.errors import InputError

EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
# Scores of `score`, lower is better except where noted; the report's columns.
SCORES = ("stats", "stats_held_out", "log_mel_db", "erb_db", "copy", "seam", "dips")
BASELINES = ("held_out", "shaped_noise", "chunk_shuffle")


def recordings(directory: str) -> list[str]:
  """The audio files of `directory`, sorted; raises `InputError` if there are none."""
  if not os.path.isdir(directory):
    raise InputError(f"texture directory not found: {directory}")
  paths = sorted(os.path.join(directory, f) for f in os.listdir(directory)
                 if f.lower().endswith(EXTENSIONS))
  if not paths:
    raise InputError(f"no audio files ({', '.join(EXTENSIONS)}) in {directory}")
  return paths


def excerpts(y: np.ndarray, *, n_samples: int, name: str) -> tuple[np.ndarray, np.ndarray]:
  """The style and held-out excerpts `[n_samples]`: centred in the first and second halves."""
  half = y.size // 2
  if half < n_samples:
    raise InputError(f"{name}: {y.size} samples is too short for two excerpts of "
                     f"{n_samples} samples")
  start = (half - n_samples) // 2
  return y[start:start + n_samples], y[half + start:half + start + n_samples]


def shaped_noise(style: np.ndarray, *, n_samples: int, seed: int, n_fft: int = 2048) -> np.ndarray:
  """Gaussian noise whose long-term power spectrum is the style's, `[n_samples]`.

  Each STFT bin of white noise is scaled to the style's RMS magnitude in that bin.
  """
  hop = n_fft // 4
  stft = lambda y: librosa.stft(y, n_fft=n_fft, hop_length=hop)  # noqa: E731
  target = np.sqrt(np.mean(np.abs(stft(style)) ** 2, axis=1, keepdims=True))
  noise = stft(np.random.default_rng(seed).standard_normal(n_samples).astype(np.float32))
  noise *= target / np.sqrt(np.mean(np.abs(noise) ** 2, axis=1, keepdims=True) + 1e-20)
  return librosa.istft(noise, hop_length=hop, length=n_samples)


def equal_power_fades(fade: int) -> tuple[np.ndarray, np.ndarray]:
  """The gains `[fade]` of a cross-fade, (in, out) = (sin, cos) of a quarter turn sampled
  at the sample centres: in**2 + out**2 = 1 at every sample."""
  angle = 0.5 * np.pi * (np.arange(fade) + 0.5) / fade
  return np.sin(angle), np.cos(angle)


def chunk_shuffle(style: np.ndarray, *, n_samples: int, seed: int, chunk: int,
                  fade: int) -> np.ndarray:
  """The style cut into chunks, shuffled and joined by equal-power cross-fades, `[n_samples]`.

  Chunks of `chunk + fade` samples start every `chunk` samples of the style; chunk `j`
  of the shuffled order starts at output sample `j * chunk - fade`, fading in
  (`equal_power_fades`) over the last `fade` samples of chunk `j - 1`, which fade out
  over the same samples. A strong baseline for the statistics (it is the style,
  rearranged, without clicks at the joins), and a copy by construction.
  """
  span = chunk + fade
  chunks = [style[i:i + span] for i in range(0, style.size - span + 1, chunk)]
  n_chunks = -(-(n_samples + fade) // chunk)  # the last one fades out after n_samples
  rng = np.random.default_rng(seed)
  order = np.concatenate([rng.permutation(len(chunks))
                          for _ in range(-(-n_chunks // len(chunks)))])[:n_chunks]
  fade_in, fade_out = equal_power_fades(fade)
  window = np.concatenate([fade_in, np.ones(chunk - fade), fade_out])
  out = np.zeros(n_chunks * chunk + fade)
  for j, i in enumerate(order):
    out[j * chunk:j * chunk + span] += window * chunks[i]
  return out[fade:fade + n_samples].astype(style.dtype)


def texture(c: ml_collections.ConfigDict, style: np.ndarray, *, n_samples: int,
            seed: int) -> np.ndarray:
  """A texture `[n_samples]` of config `c` (checked) from the style waveform alone
  (`jaxstyle.texture`); a loop's length is rounded up (`config.output_samples`)."""
  return api.texture(style, c, duration_s=n_samples / c.sample_rate, seed=seed)


def unit_rms(y: np.ndarray) -> np.ndarray:
  """`y` scaled to unit RMS (silence stays silence)."""
  rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
  return np.asarray(y, np.float64) / rms if rms > 0 else np.asarray(y, np.float64)


def score(candidate: np.ndarray, *, style: np.ndarray, held_out: np.ndarray,
          sample_rate: int) -> dict[str, float]:
  """`SCORES` of a texture, all three signals at unit RMS.

  stats: `metrics.texture_stats_distance` total against the style excerpt;
  stats_held_out: the same against the held-out excerpt; log_mel_db:
  `metrics.log_mel_distance`; erb_db: `metrics.erb_spectrum_distance` (quiet bands
  in dB); copy: `metrics.copy_fraction` against the style excerpt; seam: the spectral
  flux at the wrap of the texture looped, over the interior's 95th percentile
  (`metrics.seam`; above 1: it clicks or jumps when looped); dips: of the texture
  alone, the share of 32 ms frames more than 10 dB below the median level of the
  surrounding second (`metrics.dropouts`; it needs 2 s or more).
  """
  cand, ref, held = unit_rms(candidate), unit_rms(style), unit_rms(held_out)
  kw = dict(sample_rate=sample_rate)
  return {
      "stats": metrics.texture_stats_distance(ref, cand, **kw)["total"],
      "stats_held_out": metrics.texture_stats_distance(held, cand, **kw)["total"],
      "log_mel_db": metrics.log_mel_distance(ref, cand, **kw),
      "erb_db": metrics.erb_spectrum_distance(ref, cand, **kw),
      "copy": metrics.copy_fraction(ref, cand, **kw)["fraction"],
      "seam": metrics.seam(cand, **kw)["flux"],
      "dips": metrics.dropouts(cand, **kw)["share"],
  }


@dataclasses.dataclass(frozen=True)
class Method:
  """A way to make a texture: `make(style [samples], n_samples) -> [n_samples]`."""

  name: str
  make: Callable[[np.ndarray, int], np.ndarray]


def baselines(*, sample_rate: int, seed: int) -> list[Method]:
  """The baselines `BASELINES` except `held_out`, which `run` scores directly."""
  return [
      Method("shaped_noise", lambda s, n: shaped_noise(s, n_samples=n, seed=seed)),
      Method("chunk_shuffle", lambda s, n: chunk_shuffle(
          s, n_samples=n, seed=seed, chunk=int(0.1 * sample_rate),
          fade=int(0.01 * sample_rate))),
  ]


def config_method(name: str, c: ml_collections.ConfigDict, *, seed: int) -> Method:
  """The method of a checked config `c`."""
  return Method(name, lambda s, n: texture(c, s, n_samples=n, seed=seed))


def run(paths: Sequence[str], methods: Sequence[Method], *, sample_rate: int,
        excerpt_s: float) -> dict:
  """Scores every method on every recording.

  Returns:
    `{"recordings": [{"name", "style_dips", "methods": {method: {**SCORES, "seconds"}}}],
    "mean": {method: {**SCORES, "seconds"}}, "style_dips", "audio": {recording: {method
    or "style": waveform}}}`; the `held_out` method is the held-out excerpt itself;
    `style_dips` is the style excerpt's own `dips` (per recording, and their mean).
  """
  n_samples = int(round(excerpt_s * sample_rate))
  rows, sounds = [], {}
  for k, path in enumerate(paths, start=1):
    name = os.path.splitext(os.path.basename(path))[0]
    y = audio.check(audio.load(path, sample_rate=sample_rate), name=path, n_fft=2048)
    style, held = excerpts(y, n_samples=n_samples, name=path)
    audio.check(style, name=f"{path} (style excerpt)", n_fft=2048)
    sounds[name] = {"style": style}
    style_dips = metrics.dropouts(style, sample_rate=sample_rate)["share"]
    scores = {}
    for m in [Method("held_out", lambda s, n, held=held: held), *methods]:
      start = time.perf_counter()
      out = np.asarray(m.make(style, n_samples), np.float32)
      seconds_taken = time.perf_counter() - start
      scores[m.name] = {**score(out, style=style, held_out=held, sample_rate=sample_rate),
                        "seconds": seconds_taken}
      sounds[name][m.name] = out
      logging.info("[%d/%d] %s, %s: %s", k, len(paths), name, m.name,
                   " ".join(f"{s} {v:.3g}" for s, v in scores[m.name].items()))
    rows.append({"name": name, "style_dips": style_dips, "methods": scores})
  names = list(rows[0]["methods"])
  mean = {m: {s: float(np.mean([r["methods"][m][s] for r in rows]))
              for s in (*SCORES, "seconds")} for m in names}
  return {"recordings": rows, "mean": mean,
          "style_dips": float(np.mean([r["style_dips"] for r in rows])), "audio": sounds}


def method_config(spec: str, *, sample_rate: int = 0) -> tuple[str, ml_collections.ConfigDict]:
  """`PATH[:KEY=VALUE...]` -> (method name, checked config): a config file's
  `get_config()` with dotted-key overrides, e.g. `configs/texture.py:spectrum_weight=0`,
  and its `sample_rate` replaced by `sample_rate` if that is positive."""
  path, *overrides = spec.split(":")
  if not os.path.isfile(path):
    raise InputError(f"config file not found: {path}")
  c = config_lib.load(path)
  for item in overrides:
    key, sep, value = item.partition("=")
    if not sep:
      raise InputError(f"override {item!r} of {spec!r} is not KEY=VALUE")
    where = f"override {item!r} of {spec!r}"
    try:
      if not isinstance(config_lib.get(c, key), str):
        value = ast.literal_eval(value)  # numbers and booleans; strings stay as written
    except (KeyError, AttributeError):
      raise InputError(f"{where}: unknown config key {key!r}") from None
    except (ValueError, SyntaxError) as e:
      raise InputError(f"{where}: bad value ({e})") from None
    config_lib.override(c, key, value, where=where)
  if sample_rate > 0:
    config_lib.override(c, "sample_rate", sample_rate, where=f"sample rate of {spec!r}")
  config_lib.check(c)
  name = os.path.splitext(os.path.basename(path))[0]
  return (f"{name}[{','.join(overrides)}]" if overrides else name), c


def morph_windows(c: ml_collections.ConfigDict, a: np.ndarray, b: np.ndarray, *,
                  duration_s: float, window_s: float, seed: int = 0) -> dict:
  """A morph from style `a` to style `b` (waveforms `[samples]`) measured in successive
  windows, beside plain textures of each and mixes by weight.

  Returns `{"rows": [{"start_s", "stats_a", "stats_b", "barycentre_loss"}], "plain":
  {"a": (stats_a, stats_b), "b": ...}, "mix": {weight of a: (stats_a, stats_b)},
  "audio": {name: waveform}}`: `stats_*` is `metrics.texture_stats_distance` to each
  style; `barycentre_loss` the objective's value (`objective.function`) of the window's
  spectrogram against the targets halfway between the styles (`objective.interpolate`).
  """
  rate, window = c.sample_rate, int(round(window_s * c.sample_rate))
  stats = lambda ref, y: metrics.texture_stats_distance(ref, y, sample_rate=rate)["total"]  # noqa: E731
  both = lambda y: (stats(a, y), stats(b, y))  # noqa: E731
  y = api.texture(a, c, duration_s=duration_s, morph_to=b, seed=seed)
  spec = config_lib.spec(c, n_samples=window)
  r = spec.representation
  halfway = objective.interpolate(*(batch.targets(spec, [representation.analyze(s, r)], None, [s])
                                    for s in (a, b)), 0.5)
  problem = synthesis.problem(spec, halfway)
  rows, sounds = [], {"style_a": a, "style_b": b, "morph": y}
  for k, start in enumerate(range(0, y.size - window + 1, window)):
    w = y[start:start + window]
    x = objective.to_variable(jnp.asarray(representation.analyze(w, r)), spec.objective,
                              halfway.floor)
    rows.append({"start_s": start / rate, **dict(zip(("stats_a", "stats_b"), both(w),
                                                      strict=True)),
                 "barycentre_loss": float(problem.fun(x, *problem.args)[0])})
    sounds[f"window_{k:02d}"] = w
  plain = {}
  for name, s in (("a", a), ("b", b)):
    sounds[f"plain_{name}"] = api.texture(s, c, duration_s=window_s, seed=seed)
    plain[name] = both(sounds[f"plain_{name}"])
  mix = {}
  for wa in (0.8, 0.2):
    sounds[f"mix_{wa:g}"] = api.texture([a, b], c, weights=[wa, 1 - wa], duration_s=window_s,
                                        seed=seed)
    mix[wa] = both(sounds[f"mix_{wa:g}"])
  return {"rows": rows, "plain": plain, "mix": mix, "audio": sounds}
