"""Parameter sweeps: every point of a grid, batched over the local devices and processes.

  python scripts/sweep.py --config=configs/sweep_demo.py --output_dir=out/sweep
  python scripts/sweep.py --config=configs/sweep_demo.py --output_dir=out/sweep --resume
  python scripts/sweep.py --config=configs/sweep_demo.py --config.grid.seed='(0,1,2,3)' ...

Writes OUTPUT_DIR/<point>.wav and <point>.json for every grid point as soon as its
batch is done, then summary.csv and summary.json. Several processes (one machine or
a cluster) share a grid with --coordinator, --num_processes and --process_id (or
--distributed where SLURM, Open MPI or JAX_COORDINATOR_ADDRESS tell JAX those).
"""

import os

from absl import flags

from jaxstyle import cli
from jaxstyle import config
from jaxstyle import grid
from jaxstyle import sweep

cli.define_config(
    os.path.join(config.CONFIGS_DIR, "sweep_demo.py"),
    "Sweep config file (configs/sweep_*.py): a jaxstyle config (config.*), inputs and a grid "
    "(grid.*). Override keys with --config.KEY=VALUE, e.g. --config.config.iterations=50.")
flags.DEFINE_string("output_dir", None, "Directory for the points' files and the summary.",
                    required=True)
flags.DEFINE_bool("resume", False, "Skip points whose JSON is already in --output_dir (for the "
                  "same point and config); rebuild the summary.")
flags.DEFINE_string("coordinator", None, "host:port of process 0 in a multi-process sweep.")
flags.DEFINE_integer("num_processes", None, "Processes in a multi-process sweep.")
flags.DEFINE_integer("process_id", None, "This process's index, 0 .. num_processes - 1.")
flags.DEFINE_bool("distributed", False, "Join a multi-process sweep even without --coordinator, "
                  "--num_processes and --process_id: JAX takes them from the environment "
                  "(JAX_COORDINATOR_ADDRESS, SLURM, Open MPI, Kubernetes, Cloud TPU).")
cli.define_compilation_cache()
flags.adopt_module_key_flags(cli)


def main(argv: list[str]) -> int:
  if (status := cli.begin(argv)) is not None:
    return status
  f = flags.FLAGS
  if f.distributed or f.coordinator or f.num_processes or f.process_id is not None:
    grid.initialize(coordinator_address=f.coordinator, num_processes=f.num_processes,
                     process_id=f.process_id)
  return cli.guarded(lambda: sweep.run(f.config, output_dir=f.output_dir,
                                                resume=f.resume))


def run() -> None:
  """The console command `jaxstyle-sweep`."""
  cli.run_script(main, __name__)


if __name__ == "__main__":
  run()
