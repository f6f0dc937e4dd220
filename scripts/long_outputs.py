"""Long outputs: peak memory, seconds per output minute and quality against the length.

  python scripts/long_outputs.py --style=../shared/textures/fire.mp3 --durations=60,300,600

Runs `scripts/texture.py` once per duration, each in its own process (so each peak
resident memory is its own), from the first `--clip_s` seconds of the style, plus one
output of a single block (`config.block_s` long) as the baseline. Prints a Markdown
table from the JSON records: peak memory, synthesis seconds per output minute, the
texture-statistics distance of the first and the last minute to the style, and the
seam measure at the joins (mean and largest over the flux and level steps at every
join's switch and fade middle; at most 1 is no more of an event than the interior's
95th percentile). BUILD.md "Long outputs" holds a run.
"""

import json
import os
import subprocess
import sys

from absl import app
from absl import flags

_STYLE = flags.DEFINE_string("style", None, "The style audio file.", required=True)
_CLIP_S = flags.DEFINE_float("clip_s", 5.0, "Seconds of the style file used.")
_DURATIONS = flags.DEFINE_list("durations", ["60", "300", "600"],
                               "Output lengths in seconds, one run each.")
_CONFIG = flags.DEFINE_string("config", None, "A config file (default: scripts/texture.py's).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "out/long", "Where the runs' files go.")

TEXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "texture.py")


def _run(duration_s: float, name: str) -> dict:
  args = [sys.executable, TEXTURE, f"--style={_STYLE.value}", f"--clip_s={_CLIP_S.value}",
          f"--duration={duration_s:g}", f"--output_dir={_OUTPUT_DIR.value}", f"--name={name}"]
  if _CONFIG.value:
    args.append(f"--config={_CONFIG.value}")
  print(" ".join(args), flush=True)
  subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  with open(os.path.join(_OUTPUT_DIR.value, f"{name}.json")) as f:
    return json.load(f)


def _row(label: str, r: dict) -> str:
  q = r["quality"]
  last = q.get("last_minute", q["style"])["texture_stats"]["total"]
  joins = q.get("joins", {"count": 0, "each": []})
  steps = [j[at][k] for j in joins["each"] for at in ("switch", "middle")
           for k in ("flux", "level")]
  seam = f"{sum(steps) / len(steps):.3f} / {max(steps):.3f}" if steps else "-"
  per_minute = r["seconds"]["synthesis"] / (r["duration_s"] / 60)
  return (f"| {label} | {r['duration_s'] / 60:.1f} | {len(r.get('blocks', [1]))} | "
          f"{r['peak_memory_mib']:.0f} | {per_minute:.0f} | "
          f"{q['style']['texture_stats']['total']:.4f} | {last:.4f} | {joins['count']} | "
          f"{seam} |")


def main(argv):
  del argv
  rows = [_row("one block (baseline)", _run(30.0, "block"))]
  for d in _DURATIONS.value:
    rows.append(_row(f"{float(d):g} s", _run(float(d), f"long{float(d):g}")))
  print("| output | minutes | blocks | peak memory MiB | synthesis s per output minute | "
        "stats first minute | stats last minute | joins | seam mean / max |")
  print("|---|---|---|---|---|---|---|---|---|")
  print("\n".join(rows))


if __name__ == "__main__":
  app.run(main)
