"""The speed benchmark of `scripts/benchmark.py`: loss + gradient cost against the PyTorch
peer in alternating rounds (`speed`), matmul peak, phase reconstruction against librosa,
a per-operation breakdown against XLA's own convolution,
and the table of a run (`table`); `jaxstyle.benchmark_synthesis` measures whole
syntheses.

Settings A-E are those of the PyTorch peer (`../shared/peers/torch_ref.py`), so both
sides time the same work on the same machine:

| | orientation | channels | kernel | hop | style | content |
|---|---|---|---|---|---|---|
| A | freq | 4096 | 11 | 256 | relu1, relu2 | - |
| B | freq | 4096 | 11 | 256 | relu1, relu2 | relu3 |
| C | freq | 4096 | 11 | 128 | relu1, relu2 | relu3 |
| D | freq | 512 | 11 | 256 | relu1, relu2 | - |
| E | 2d | 64 | 11 | 256 | relu1, relu2 | - |
"""

from collections.abc import Callable, Sequence
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import librosa
import numpy as np

from jaxstyle import config as config_lib
from jaxstyle import examples
from jaxstyle import losses
from jaxstyle import metrics
from jaxstyle import nets
from jaxstyle import objective
from jaxstyle import phase
from jaxstyle import spectral

SAMPLE_RATE, N_FFT, SECONDS = 22050, 1024, 5.0
# The PyTorch peer's tuned mode: glibc keeps freed memory (as `cli.keep_freed_memory`).
TUNED_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}


def _high_water_mb(pid: int) -> float | None:
  """Peak resident memory of process `pid`'s own address space (Linux `VmHWM`), or None."""
  try:
    with open(f"/proc/{pid}/status") as f:
      return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
  except (OSError, StopIteration):
    return None


def child_result(cmd: list[str], env: dict[str, str] | None = None) -> dict | None:
  """Runs `cmd` (extra `env` on top of ours); the JSON of its last `RESULT ` line.

  Sets its `peak_rss_mb` to the child's resident high-water mark, polled from here:
  a child's own `ru_maxrss` starts at its parent's resident size at fork (Linux
  carries it through exec), so a small child run from a large parent reported the
  parent's size. Prints the command and its error output and returns None on failure.
  """
  peak = None
  with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        env={**os.environ, **(env or {})}) as p:
    while True:
      try:
        out, err = p.communicate(timeout=0.1)
        break
      except subprocess.TimeoutExpired:
        peak = _high_water_mb(p.pid) or peak
  lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
  if p.returncode or not lines:
    print(f"FAILED: {' '.join(cmd)}\n{err[-2000:]}", file=sys.stderr)
    return None
  result = json.loads(lines[-1][len("RESULT "):])
  if peak is not None:
    result["peak_rss_mb"] = peak
  return result


@dataclasses.dataclass(frozen=True)
class Setting:
  orientation: str
  channels: int
  hop_length: int
  style: tuple[str, ...] = ("relu1", "relu2")
  content: tuple[str, ...] = ()
  kernel_size: int = 11


SETTINGS = {
    "A": Setting("freq", 4096, 256),
    "B": Setting("freq", 4096, 256, content=("relu3",)),
    "C": Setting("freq", 4096, 128, content=("relu3",)),
    "D": Setting("freq", 512, 256),
    "E": Setting("2d", 64, 256),
}


def _timed(f: Callable[[], object], *, evals: int, warmup: int = 1) -> list[float]:
  for _ in range(warmup):
    jax.block_until_ready(f())
  times = []
  for _ in range(evals):
    start = time.perf_counter()
    jax.block_until_ready(f())
    times.append(time.perf_counter() - start)
  return times


def work_flop(s: Setting, n_frames: int, n_freq: int) -> dict[str, float]:
  """FLOPs of one loss + gradient: forward convs, input-gradient convs, style losses.

  The weights are frozen, so the backward pass computes only input gradients, as
  many FLOPs as the forward convs. Style loss per layer (`losses.style_loss`, with a
  style of the same length, R = P positions, C channels): with `P + R < C` the
  position products, `2 P^2 C + 2 P R C + 2 R^2 C` forward and `2 P^2 C + 2 P R C`
  backward; else the Grams, `2 P C^2 + 2 R C^2` forward and `2 P C^2` backward.
  Only the stacks up to the deepest layer are computed.
  """
  depth = max(nets.tap_depth(t) for t in s.style + s.content)
  spatial, c_in = nets.input_layout(s.orientation, n_frames, n_freq)
  taps = int(np.prod([s.kernel_size] * len(spatial)))
  out = dict.fromkeys(("conv_forward", "style_forward", "style_backward"), 0.0)
  c = s.channels
  for i in range(1, depth + 1):
    p = int(np.prod(spatial))
    out["conv_forward"] += 2.0 * taps * c_in * c * p
    if f"relu{i}" in s.style and 2 * p < c:
      out["style_forward"] += 6.0 * p * p * c
      out["style_backward"] += 4.0 * p * p * c
    elif f"relu{i}" in s.style:
      out["style_forward"] += 4.0 * p * c * c
      out["style_backward"] += 2.0 * p * c * c
    c_in, spatial = c, tuple(n // 2 for n in spatial)
  out["conv_input_gradient"] = out["conv_forward"]
  out["total"] = sum(out.values())
  return out


def matmul_peak(*, n: int = 4096, evals: int = 5) -> dict:
  """JAX float32 `n x n` matmul: GFLOP/s (median and best)."""
  a = jax.random.normal(jax.random.key(0), (n, n))
  f = jax.jit(lambda a: a @ a)
  times = _timed(lambda: f(a), evals=evals)
  return {"n": n, "gflops_median": 2 * n**3 / statistics.median(times) / 1e9,
          "gflops_best": 2 * n**3 / min(times) / 1e9}


def objective_cost(name: str, *, conv: str = "fft", evals: int = 5, warmup: int = 1) -> dict:
  """Compile time, seconds per loss + gradient evaluation and work of setting `name`,
  its 1D convs run as `conv` (`nets.CONVS`). The work is that of the direct
  convolution (`work_flop`) whichever way it runs, so FFT convs can exceed the matmul
  peak in GFLOP/s."""
  s = SETTINGS[name]
  c = config_lib.base()
  c.hop_length, c.net.orientation, c.net.channels = s.hop_length, s.orientation, s.channels
  c.net.kernel_size, c.net.conv = s.kernel_size, conv
  c.net.stacks = max(nets.tap_depth(t) for t in s.style + s.content)
  c.style_layers, c.content_layers = ",".join(s.style), ",".join(s.content)
  y = examples.birds_and_rain(duration_s=SECONDS, sample_rate=SAMPLE_RATE)
  style = spectral.spectrogram(y, n_fft=N_FFT, hop_length=s.hop_length)
  content = spectral.spectrogram(examples.tones(duration_s=SECONDS, sample_rate=SAMPLE_RATE),
                                 n_fft=N_FFT, hop_length=s.hop_length)
  n_frames, n_freq = style.shape
  spec = config_lib.spec(c, n_samples=s.hop_length * (n_frames - 1))
  net = spec.module()
  variables = nets.prepare(spec.net, nets.random_variables(spec.net, n_frames, n_freq),
                           c.net.stacks)
  targets = objective.Targets(gram={k: losses.style_target(v) for k, v in objective.features(
      net, variables, style, s.style).items()}, floor=jnp.float32(1e-5), rms=jnp.ones(n_freq))
  feats = objective.features(net, variables, content, s.content) if s.content else {}
  fun = objective.function(net, spec.objective, content=bool(s.content))
  args = (variables, targets, feats, objective.weights(spec.objective))
  x = 0.1 * jax.random.uniform(jax.random.key(0), style.shape)
  start = time.perf_counter()
  step = jax.jit(jax.value_and_grad(fun, has_aux=True)).lower(x, *args).compile()
  compile_s = time.perf_counter() - start
  times = _timed(lambda: step(x, *args), evals=evals, warmup=warmup)
  work = work_flop(s, n_frames, n_freq)
  median = statistics.median(times)
  return {"setting": name, **dataclasses.asdict(s), "conv": conv, "shape": [n_frames, n_freq],
          "compile_s": compile_s, "eval_times_s": times, "eval_median_s": median,
          "work_gflop": work["total"] / 1e9, "work_split_gflop": {
              k: v / 1e9 for k, v in work.items() if k != "total"},
          "gflops": work["total"] / median / 1e9,
          "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _xla_conv(x, w):
  return jax.lax.conv_general_dilated(x, w, (1,), "SAME", dimension_numbers=("NWC", "WIO", "NWC"))


def breakdown(name: str, *, evals: int = 3) -> dict:
  """Seconds of each operation's forward + input gradient in setting `name` (1D only),
  with XLA's convolution (the straightforward version) and with `nets.Conv1D` as one
  matrix product (im2col) and by FFT."""
  s = SETTINGS[name]
  n_frames = 1 + int(SECONDS * SAMPLE_RATE) // s.hop_length
  shapes, c_in, t = [], N_FFT // 2 + 1, n_frames
  for _ in range(max(nets.tap_depth(x) for x in s.style + s.content)):
    shapes.append((t, c_in))
    c_in, t = s.channels, t // 2
  out = {}
  for i, (t, c_in) in enumerate(shapes, start=1):
    x = jax.random.normal(jax.random.key(i), (1, t, c_in))
    init = nets.torch_uniform(c_in * s.kernel_size)
    conv = nets.Conv1D(s.channels, s.kernel_size, kernel_init=init, bias_init=init)
    v = conv.init(jax.random.key(0), x)
    block = nets.fft_block(s.kernel_size)
    vf = {**v, "spectral": {"kernel": nets.spectral_kernel(v["params"]["kernel"], block)}}
    apply = lambda x, v, conv=conv: conv.apply(v, x)
    impls = {"xla_conv": (lambda x, v: _xla_conv(x, v["params"]["kernel"]), v),
             "im2col": (apply, v), "fft": (apply, vf)}
    for impl, (f, vv) in impls.items():
      # The variables are an argument, as in synthesis: XLA would fold constants.
      g = jax.jit(jax.grad(lambda x, v, f=f: jnp.sum(f(x, v) ** 2)))
      out[f"conv{i}_{impl}_s"] = statistics.median(
          _timed(lambda g=g, x=x, vv=vv: g(x, vv), evals=evals))
    if f"relu{i}" in s.style:
      feat = jax.random.normal(jax.random.key(9), (1, t, s.channels))
      target = losses.style_target(feat) * 0.5
      g = jax.jit(jax.grad(lambda f, target=target: losses.style_loss(f, target)))
      out[f"gram{i}_s"] = statistics.median(_timed(lambda g=g, feat=feat: g(feat), evals=evals))
  return out


def griffin_lim_comparison(y: np.ndarray, *, n_iter: int = 100, evals: int = 3) -> dict:
  """JAX fast Griffin-Lim (random and SPSI init) vs `librosa.griffinlim` (momentum 0.99,
  random init) on the STFT magnitude of `y` (n_fft 1024, hop 256): seconds and spectral
  convergence; and
  what single-pass spectrogram inversion (SPSI) as initial phase gains at 0, 10, 50
  and 100 iterations."""
  hop = 256
  mag = np.asarray(spectral.magnitude(spectral.stft(y, n_fft=N_FFT, hop_length=hop)))
  sc = lambda a: metrics.spectral_convergence(mag, np.asarray(a), n_fft=N_FFT,  # noqa: E731
                                              hop_length=hop)
  run = {
      f"jax{suffix}": lambda init=init: phase.griffin_lim(
          mag, jax.random.key(0), n_fft=N_FFT, hop_length=hop, n_iter=n_iter, length=y.size,
          init=init)
      for init, suffix in (("random", ""), ("spsi", "_spsi"))
  } | {
      "librosa": lambda: librosa.griffinlim(mag.T, n_iter=n_iter, hop_length=hop, n_fft=N_FFT,
                                            momentum=0.99, random_state=0, length=y.size),
  }
  out = {"shape": list(mag.shape), "n_iter": n_iter}
  for name, f in run.items():
    times = _timed(f, evals=evals)
    out[name] = {"seconds": statistics.median(times),
                 "ms_per_iteration": 1e3 * statistics.median(times) / n_iter,
                 "spectral_convergence": sc(f())}
  out["speedup"] = out["librosa"]["seconds"] / out["jax"]["seconds"]
  out["init"] = {init: {str(n): sc(phase.griffin_lim(
      mag, jax.random.key(0), n_fft=N_FFT, hop_length=hop, n_iter=n, length=y.size, init=init))
      for n in (0, 10, 50, 100)} for init in phase.INITS}
  return out


def speed(settings: Sequence[str], *, rounds: int, evals: int, child: Callable[[str], list[str]],
          torch: str | None = None, peer: str = "", peer_settings: Sequence[str] = ()) -> dict:
  """The settings' loss + gradient cost against the PyTorch peer, in alternating rounds.

  Each round runs, per setting, `child(name)` (a command that prints `objective_cost`
  as a `RESULT` line, in its own process) and, with `torch` (a Python with torch) and
  the setting in `peer_settings`, the `peer` script in its *reference* mode (full
  depth, a backward per loss) and its *tuned* mode (lean, allocator kept warm). Per
  setting: the last JAX run's figures with the median seconds per evaluation over the
  rounds, GFLOP/s and the fraction of the matmul peak (measured here), and per peer
  mode its median seconds, peak memory and the median of the per-round speed-ups.
  """
  out = {"matmul": matmul_peak(), "settings": {}}
  peak = out["matmul"]["gflops_median"]
  print(f"JAX matmul peak: {peak:.0f} GFLOP/s", flush=True)
  for name in settings:
    runs = {"jax": [], "reference": [], "tuned": []}
    for r in range(rounds):
      runs["jax"].append(child_result(child(name)))
      if torch and name in peer_settings:
        for mode, extra, env in (("reference", ["--full-depth", "--per-loss-backward"], {}),
                                 ("tuned", [], TUNED_ENV)):
          runs[mode].append(child_result([torch, peer, "nst", name, "--evals",
                                          str(min(evals, 3)), *extra], env))
      print(f"{name} round {r + 1}: " + ", ".join(
          f"{k} {v[-1]['eval_median_s' if k == 'jax' else 'closure_median_s']:.3f}s"
          for k, v in runs.items() if v and v[-1]), flush=True)
    jax_runs = [r for r in runs["jax"] if r]
    if not jax_runs:
      out["settings"][name] = {"failed": "every JAX run failed (its error is above)"}
      continue
    res = dict(jax_runs[-1])
    res["eval_median_s"] = statistics.median(r["eval_median_s"] for r in jax_runs)
    res["gflops"] = res["work_gflop"] / res["eval_median_s"]
    res["fraction_of_matmul_peak"] = res["gflops"] / peak
    for mode in ("reference", "tuned"):
      pairs = [(t, j) for t, j in zip(runs[mode], runs["jax"], strict=False) if t and j]
      if pairs:
        res[f"torch_{mode}_s"] = statistics.median(t["closure_median_s"] for t, _ in pairs)
        res[f"torch_{mode}_peak_rss_mb"] = max(t["peak_rss_mb"] for t, _ in pairs)
        res[f"speedup_vs_{mode}"] = statistics.median(
            t["closure_median_s"] / j["eval_median_s"] for t, j in pairs)
    out["settings"][name] = res
  return out


def table(out: dict) -> str:
  """A markdown table of a whole benchmark run (`speed` plus the other measures)."""
  rows = ["| setting | shape | compile s | s / eval | GFLOP/s | of matmul peak | peak MB | "
          "torch ref s | speed-up vs ref | torch tuned s | speed-up vs tuned |",
          "|---" * 11 + "|"]
  for name, r in out["settings"].items():
    def fmt(k, f="{:.2f}", r=r):
      return f.format(r[k]) if k in r else "-"

    if "failed" in r:
      rows.append(f"| {name} | {r['failed']} |" + " |" * 9)
      continue
    rows.append(f"| {name} | {r['shape'][0]}x{r['shape'][1]} | {r['compile_s']:.1f} | "
                f"{r['eval_median_s']:.3f} | {r['gflops']:.0f} | "
                f"{r['fraction_of_matmul_peak']:.0%} | {r['peak_rss_mb']:.0f} | "
                f"{fmt('torch_reference_s')} | {fmt('speedup_vs_reference', '{:.2f}x')} | "
                f"{fmt('torch_tuned_s')} | {fmt('speedup_vs_tuned', '{:.2f}x')} |")
  gl = out["griffin_lim"]
  rows.append(f"\nmatmul peak {out['matmul']['gflops_median']:.0f} GFLOP/s; Griffin-Lim "
              f"{gl['n_iter']} it on {gl['shape']}: JAX {gl['jax']['ms_per_iteration']:.2f} "
              f"ms/it (SC {gl['jax']['spectral_convergence']:.4f}; SPSI init "
              f"{gl['jax_spsi']['spectral_convergence']:.4f}), librosa "
              f"{gl['librosa']['ms_per_iteration']:.2f} ms/it (SC "
              f"{gl['librosa']['spectral_convergence']:.4f}), {gl['speedup']:.1f}x; "
              f"SC by init and iterations: {json.dumps(gl['init'])}")
  rows.append(f"breakdown (s, fwd + input grad): {json.dumps(out['breakdown'])}")
  rows.append(f"batch: {json.dumps(out['batch'])}\nsweep (4 forced host devices): "
              f"{json.dumps(out['sweep'])}")
  return "\n".join(rows)
