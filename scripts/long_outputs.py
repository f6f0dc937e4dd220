"""Long outputs: peak memory, seconds per output minute and quality against the length.

  python scripts/long_outputs.py --style=../shared/textures/fire.mp3 --durations_s=60,300,600

Runs `scripts/texture.py` once per duration, each in its own process (so each peak
resident memory is its own), from the first `--clip_s` seconds of the style, plus one
output of a single block (`config.block_s` long) as the baseline. Prints a Markdown
table from the JSON records: peak memory, synthesis seconds per output minute, the
texture-statistics distance of the first and the last minute to the style, and the
seam measure at the joins (mean and largest over the flux and level steps at every
join's cross-fade start and middle; at most 1 is no more of an event than the interior's
95th percentile), and the share of those steps over 1 against the same share at
`--places` random places of the same output, each measured with the same 10 s either
side (the control: on a texture, some places step by chance). BUILD.md "Long outputs"
holds a run.
"""

import json
import os
import subprocess
import sys

from absl import app
from absl import flags
import numpy as np
import soundfile as sf

from jaxstyle import metrics

_STYLE = flags.DEFINE_string("style", None, "The style audio file.", required=True)
_CLIP_S = flags.DEFINE_float("clip_s", 5.0, "Seconds of the style file used.")
_DURATIONS = flags.DEFINE_list("durations_s", ["60", "300", "600"],
                               "Output lengths in seconds, one run each.")
_CONFIG = flags.DEFINE_string("config", None, "A config file (default: scripts/texture.py's).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "out/long", "Where the runs' files go.")
_PLACES = flags.DEFINE_integer("places", 40, "Random places measured as the control.")
CONTEXT_S = 10.0  # either side of a join or place, as blocks.Listener

TEXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "texture.py")


def _run(duration_s: float, name: str) -> dict:
  args = [sys.executable, TEXTURE, f"--style={_STYLE.value}", f"--clip_s={_CLIP_S.value}",
          f"--duration_s={duration_s:g}", f"--output_dir={_OUTPUT_DIR.value}", f"--name={name}"]
  if _CONFIG.value:
    args.append(f"--config={_CONFIG.value}")
  print(" ".join(args), flush=True)
  subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  with open(os.path.join(_OUTPUT_DIR.value, f"{name}.json")) as f:
    return json.load(f)


def _random_places(name: str, joins: list[float]) -> list[dict]:
  """The seam measure at `--places` random places of output `name`, each at least
  `CONTEXT_S` from its ends and from every join (`joins`, in seconds)."""
  y, rate = sf.read(os.path.join(_OUTPUT_DIR.value, f"{name}.wav"), dtype="float32")
  w = int(CONTEXT_S * rate)
  rng = np.random.default_rng(0)
  places = []
  while len(places) < _PLACES.value:
    at = int(rng.integers(w, y.size - w))
    if all(abs(at / rate - j) >= CONTEXT_S for j in joins):
      places.append(metrics.seam(y[at - w:at + w], sample_rate=rate, at=[w])[0])
  return places


def _row(label: str, r: dict, name: str) -> str:
  q = r["quality"]
  last = q.get("last_minute", q["style"])["texture_stats"]["total"]
  joins = q.get("joins", {"count": 0, "each": []})
  steps = [j[at][k] for j in joins["each"] for at in ("start", "middle")
           for k in ("flux", "level")]
  seam = over = "-"
  if steps:
    places = [p[k] for p in _random_places(name, [j["at_s"] for j in joins["each"]])
              for k in ("flux", "level")]
    seam = f"{sum(steps) / len(steps):.3f} / {max(steps):.3f}"
    share = lambda x: f"{sum(v > 1 for v in x)}/{len(x)}"  # noqa: E731
    over = f"{share(steps)} vs {share(places)}"
  per_minute = r["seconds"]["synthesis"] / (r["duration_s"] / 60)
  return (f"| {label} | {r['duration_s'] / 60:.1f} | {len(r.get('blocks', [1]))} | "
          f"{r['peak_memory_mib']:.0f} | {per_minute:.0f} | "
          f"{q['style']['texture_stats']['total']:.4f} | {last:.4f} | {joins['count']} | "
          f"{seam} | {over} |")


def main(argv):
  del argv
  rows = [_row("one block (baseline)", _run(30.0, "block"), "block")]
  for d in _DURATIONS.value:
    name = f"long{float(d):g}"
    rows.append(_row(f"{float(d):g} s", _run(float(d), name), name))
  print("| output | minutes | blocks | peak memory MiB | synthesis s per output minute | "
        "stats first minute | stats last minute | joins | seam mean / max | "
        "steps over 1: joins vs random places |")
  print("|---|---|---|---|---|---|---|---|---|---|")
  print("\n".join(rows))


if __name__ == "__main__":
  app.run(main)
