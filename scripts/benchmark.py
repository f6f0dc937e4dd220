"""Speed of jaxstyle against the PyTorch reference, measured in one run.

  python scripts/benchmark.py --output=bench.json            # A-E, ~15 min on 2 cores
  python scripts/benchmark.py --quick --output=/tmp/b.json    # D, E; under 3 minutes
  python scripts/benchmark.py --torch_python=/tmp/torchenv/bin/python --output=bench.json
  python scripts/benchmark.py --solvers --output=solvers.json  # optax vs jaxopt L-BFGS
  python scripts/benchmark.py --generation --output=gen.json   # device vs host L-BFGS loop

For each setting (A-E, see jaxstyle/benchmark.py): compile time, seconds per loss +
gradient evaluation (median after warm-up), the work done as GFLOP/s and as a
fraction of the JAX float32 matmul peak measured in the same run, and peak memory
(each setting in its own process). With PyTorch available (`--torch_python`, a venv
with `pip install torch==2.13.0 numpy librosa soundfile scipy`) and the peer script
present, the same settings run through it in two modes, *reference* (full depth,
one backward per loss, as the papers' code) and *tuned* (lean, allocator kept warm),
alternating with the JAX runs; ratios are medians over rounds. The JAX side runs its
1D convs as `--conv` says (FFT by default, as the paper configs). Also: a per-operation
breakdown with XLA's convolution vs ours (im2col and FFT), Griffin-Lim against librosa,
seconds per texture for batch 1, batch 8 in one vmapped program and 8 sequential runs,
and sweep throughput on 1, 2 and 4 forced host devices.
"""

import json
import os
import subprocess
import sys

# The parent and each child process time work on the same device: none may take most
# of a GPU's memory up front, as JAX does by default.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

from absl import flags
import jax
import numpy as np

from jaxstyle import audio
from jaxstyle import benchmark
from jaxstyle import benchmark_synthesis
from jaxstyle import cli
from jaxstyle import config
from jaxstyle import examples
from jaxstyle import nets
from jaxstyle import outputs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_string("output", None, "JSON file for all results (written atomically).",
                    required=True)
flags.DEFINE_bool("quick", False, "Settings D and E only, one round, 3 evaluations, small "
                  "batch and sweep of 1 s textures, one timed Griffin-Lim run per side: "
                  "under 3 minutes on 2 cores, peer included.")
flags.DEFINE_list("settings", ["A", "B", "C", "D", "E"], "Settings to time (full run).")
flags.DEFINE_integer("rounds", 2, "Alternating rounds of JAX and PyTorch runs per setting.")
flags.DEFINE_enum("conv", "fft", nets.CONVS, "How the JAX side runs 1D convs "
                  "(config key net.conv): one matrix product, or overlap-save FFT.")
flags.DEFINE_integer("evals", 5, "Timed loss + gradient evaluations per run (after warm-up).")
flags.DEFINE_string("torch_python", "", "Python with torch 2.13.0 for the peer (default: this "
                    "interpreter if it has torch; else the peer is skipped).")
flags.DEFINE_string("peer", os.path.join(ROOT, "..", "shared", "peers", "torch_ref.py"),
                    "The PyTorch peer script.")
flags.DEFINE_string("audio", os.path.join(ROOT, "..", "shared", "audio", "piano.wav"),
                    "A real recording for the Griffin-Lim comparison (first 5 s); procedural "
                    "audio if missing.")
flags.DEFINE_bool("solvers", False, "Instead of the speed benchmark: optax vs jaxopt L-BFGS "
                  "on the papers' texture and style transfer and on jaxstyle's texture configs "
                  "(loss after a fixed number of iterations, seconds, evaluations per "
                  "iteration; jaxstyle/benchmark_synthesis.py solver_cases). About 25 minutes "
                  "on 2 cores.")
flags.DEFINE_integer("solver_iterations", 50, "Iterations of the papers' cases in --solvers.")
flags.DEFINE_bool("generation", False, "Instead of the speed benchmark: textures per second of "
                  "configs/default.py and configs/texture.py (4 s of the built-in example) with "
                  "the L-BFGS loop on the device against the same program driven from the host "
                  "one iteration at a time, at each --batches size, in one run "
                  "(jaxstyle/benchmark_synthesis.py generation).")
flags.DEFINE_list("batches", ["1", "8", "64"], "Batch sizes of --generation.")
flags.DEFINE_integer("generation_iterations", 10, "L-BFGS iterations per texture in "
                     "--generation (the stall stop off).")
flags.DEFINE_string("child", None, "Internal: time one setting in this process.")
FLAGS = flags.FLAGS


def _torch_python():
  candidates = [FLAGS.torch_python] if FLAGS.torch_python else [sys.executable]
  for python in candidates:
    if subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0:
      return python
  return None


def main(argv):
  if (status := cli.begin(argv)) is not None:
    return status
  return cli.guarded(_run)


def _run() -> None:
  outputs.check_file(FLAGS.output, flag="--output")
  if FLAGS.solvers:
    out = {}
    for name, (c, iterations, style, content) in benchmark_synthesis.solver_cases(
        paper_iterations=FLAGS.solver_iterations).items():
      print(f"{name}: {iterations} iterations per solver", flush=True)
      out[name] = benchmark_synthesis.compare_solvers(c, style=style, content=content,
                                                      iterations=iterations)
    outputs.json_file(FLAGS.output, out)
    print(benchmark_synthesis.solver_table(out))
    return
  if FLAGS.generation:
    out = {}
    for name in ("default", "texture"):
      print(f"{name}: batches {', '.join(FLAGS.batches)}", flush=True)
      out[name] = benchmark_synthesis.generation(
          config.load(name), batches=[int(b) for b in FLAGS.batches],
          iterations=FLAGS.generation_iterations)
    out["device"] = str(jax.devices()[0])
    outputs.json_file(FLAGS.output, out)
    print(benchmark_synthesis.generation_table({k: v for k, v in out.items() if k != "device"}))
    return
  if FLAGS.child == "sweep":
    sizes = dict(jobs=4, iterations=5, duration_s=1.0) if FLAGS.quick else {}
    print("RESULT " + json.dumps(benchmark_synthesis.sweep_throughput(**sizes)))
    return
  if FLAGS.child:
    cost = benchmark.objective_cost(FLAGS.child, conv=FLAGS.conv, evals=FLAGS.evals)
    print("RESULT " + json.dumps(cost))
    return
  settings = ["D", "E"] if FLAGS.quick else FLAGS.settings
  evals = 3 if FLAGS.quick else FLAGS.evals
  torch = _torch_python() if os.path.exists(FLAGS.peer) else None
  print(f"PyTorch peer: {torch or 'not available (skipped)'}", flush=True)
  child = lambda name: [sys.executable, __file__, f"--child={name}", f"--evals={evals}",  # noqa: E731
                        f"--conv={FLAGS.conv}", f"--output={FLAGS.output}"]
  out = benchmark.speed(settings, rounds=1 if FLAGS.quick else FLAGS.rounds, evals=evals,
                        child=child, torch=torch, peer=FLAGS.peer,
                        peer_settings=[s for s in settings if not (FLAGS.quick and s in "ABC")])
  out["breakdown"] = benchmark.breakdown("D" if FLAGS.quick else "A")
  sizes = dict(jobs=4, channels=128, iterations=5, duration_s=1.0) if FLAGS.quick else {}
  out["batch"] = benchmark_synthesis.batch_throughput(**sizes)
  out["sweep"] = benchmark.child_result(
      [sys.executable, __file__, "--child=sweep", f"--quick={FLAGS.quick}",
       f"--output={FLAGS.output}"], {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"})

  if os.path.exists(FLAGS.audio):
    y = audio.load(FLAGS.audio, sample_rate=benchmark.SAMPLE_RATE)[: 5 * benchmark.SAMPLE_RATE]
  else:
    y = examples.birds_and_rain()
  out["griffin_lim"] = benchmark.griffin_lim_comparison(np.asarray(y, np.float32),
                                                        evals=1 if FLAGS.quick else 3)
  out["griffin_lim"]["audio"] = FLAGS.audio if os.path.exists(FLAGS.audio) else "procedural"

  outputs.json_file(FLAGS.output, out)
  print(benchmark.table(out))


def run() -> None:
  """The console command `jaxstyle-benchmark`."""
  cli.run_script(main, __name__)


if __name__ == "__main__":
  run()
