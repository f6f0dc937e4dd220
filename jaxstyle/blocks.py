"""Long textures in bounded memory: blocks, each continuing the audio of the one before.

An output longer than `config.block_s` is made block by block, so memory is that of
one block whatever the length. Every block is `block_s` long and optimised against the
same style targets. Block k > 0 starts from `PREFIX_S` of block k-1's audio `a` (from
its sample `step`; block k-1 runs on past `a` to `EDGE_S` before its end, which its
zero-padded convs and STFT colour):

- the STFT frames that see only `a` are held fixed (the prefix: the statistics see
  what is heard before the block);
- the other frames start from the STFT of `a` running, over `FADE_WINDOWS` STFT
  windows (equal power), into noise shaped to the style's spectrum, so the start has no
  step (a one-window fade left a flux step of about 15%); the optimiser's change to
  them fades in over `RAMP_S` (`synthesis.continued`);
- Griffin-Lim holds the prefix's phases, so the block's audio is `a` wherever only
  prefix frames cover it.

The output crosses from block k-1 to block k (equal power, over `CROSS_S`) only
`SETTLE_S` after the held frames: the optimiser makes an onset in the first 0.3 s of
new texture (with the modulation terms; BUILD.md "Long outputs"), which the output
takes from block k-1 instead.

Shapes: waveforms `[samples]`, spectrograms `[time, freq]` at network scale.
"""

from collections.abc import Iterator, Sequence
import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxstyle import metrics
from jaxstyle import objective
from jaxstyle import optimize
from jaxstyle import phase
from jaxstyle import spectral
from jaxstyle import synthesis
from jaxstyle.errors import InputError

PREFIX_S = 1.0
EDGE_S = 0.25
RAMP_S = 0.1
FADE_WINDOWS = 8
SETTLE_S = 0.35
CROSS_S = 0.05


class Plan(NamedTuple):
  """Where the blocks of one output lie, in samples (multiples of `hop_length`).

  Attributes:
    block: the waveform of every block.
    prefix: the audio `a` a block k > 0 starts from: block k-1's from `step` on.
    held: STFT frames of a block k > 0 held fixed (those that see only `a`).
    switch: the first sample of a block k > 0 that a free frame covers.
    fade: the first sample of a block k > 0 where `a` fades into noise in its start;
      the fade ends at `prefix`.
    join: the first sample of a block k > 0 in the output, `SETTLE_S` after `switch`:
      the output crosses there from block k-1 (its sample `step + join`) to block k.
    cross: the length of that cross-fade.
    step: the output each block k > 0 adds; block 0 gives `join + step`.
    n_blocks: blocks for the whole output.
  """

  block: int
  prefix: int
  held: int
  switch: int
  fade: int
  join: int
  cross: int
  step: int
  n_blocks: int


def needed(c: ml_collections.ConfigDict, n_samples: int) -> bool:
  """Whether an output of `n_samples` is longer than one block (`c.block_s`); a loop
  is optimised whole, however long."""
  return not c.loop and n_samples > round(c.block_s * c.sample_rate)


def check(c: ml_collections.ConfigDict, n_samples: int) -> None:
  """Refuses, with `InputError`, an output longer than one block that blocks cannot make."""
  length = f"{n_samples / c.sample_rate:g} s is longer than config.block_s ({c.block_s:g} s)"
  if c.domain != "spectrogram" or c.spectrogram != "stft" or c.net.orientation == "time":
    raise InputError(f"{length}, so it is made in blocks, which need domain=spectrogram, "
                     f"spectrogram=stft and net.orientation freq or 2d; got {c.domain}, "
                     f"{c.spectrogram}, {c.net.orientation} (or raise block_s)")
  plan(c, n_samples)


def plan(c: ml_collections.ConfigDict, n_samples: int) -> Plan:
  """The `Plan` of an output of `n_samples` under config `c` (`c.block_s` long blocks)."""
  hop, n_fft = c.hop_length, c.n_fft
  frames = lambda s: max(int(round(s * c.sample_rate / hop)), 1)  # noqa: E731
  block, prefix, edge, settle, cross = (hop * frames(s) for s in (
      c.block_s, PREFIX_S, EDGE_S, SETTLE_S, CROSS_S))
  fade = prefix - FADE_WINDOWS * n_fft
  held = (fade - n_fft // 2) // hop + 1
  switch = held * hop - n_fft // 2
  join = switch + settle
  step = block - edge - max(prefix, join + cross)
  if held < 1 or step < prefix // 2:
    raise InputError(f"config.block_s={c.block_s} s is too short for blocks that continue "
                     f"{PREFIX_S} s of audio at n_fft={n_fft}")
  n_blocks = max(math.ceil((n_samples - join) / step), 1)
  return Plan(block, prefix, held, switch, fade, join, cross, step, n_blocks)


def frames(c: ml_collections.ConfigDict, n_samples: int) -> int:
  """The spectrogram frames of each block of an output of `n_samples` samples."""
  return spectral.num_frames(plan(c, n_samples).block, hop_length=c.hop_length, n_fft=c.n_fft)


def joins(p: Plan) -> list[tuple[int, int]]:
  """`(start, middle)` of the cross-fades to blocks 1, 2, ...: the output samples where
  each is first heard and where it weighs as much as the block before."""
  return [(p.join + k * p.step, p.join + k * p.step + p.cross // 2) for k in range(1, p.n_blocks)]


@dataclasses.dataclass
class Block:
  """One block's part of the output, and how its synthesis went."""

  index: int
  audio: np.ndarray  # [samples] to append to the output
  result: synthesis.Result
  spectral_convergence: float


def _continuation(a: jnp.ndarray, rms: jnp.ndarray, key: jax.Array,
                  c: ml_collections.ConfigDict, p: Plan) -> jnp.ndarray:
  """`[block]`: `a` `[prefix]` running into shaped noise from `p.fade` (equal power)."""
  n = p.prefix - p.fade
  noise = synthesis.shaped_noise(rms, key, n_samples=p.block - p.fade, n_fft=c.n_fft,
                                 hop_length=c.hop_length)
  gain = jnp.sin(0.5 * jnp.pi * (jnp.arange(n) + 0.5) / n)
  mixed = a[p.fade:] * gain[::-1] + noise[:n] * gain
  return jnp.concatenate([a[:p.fade], mixed, noise[n:]])


def synthesize(c: ml_collections.ConfigDict, *, style: Sequence[np.ndarray], n_samples: int,
               seed: int = 0, variables: dict | None = None) -> Iterator[Block]:
  """The blocks of a texture of `n_samples` samples, as each is made.

  Args:
    c: a checked config that `check` passes.
    style: style spectrograms `[time_i, freq]` (network scale).
    n_samples: output samples; the blocks' audio adds up to exactly this.
    seed: block k uses noise from `jax.random.fold_in(key(seed), k)` (block 0 as
      `synthesis.synthesize` with `seed`).
    variables: as `synthesis.synthesize`'s, for spectrograms of `frames` frames.

  Yields:
    `Block`s in order; their `audio` concatenated is the output.
  """
  p = plan(c, n_samples)
  n_frames = frames(c, n_samples)
  first = synthesis.problem(c, style=style, n_frames=n_frames, n_samples=p.block, seed=seed,
                            variables=variables)
  f, floor = first.form, first.targets.floor
  rms = synthesis.style_rms(c, style)
  kw = dict(iterations=c.iterations, log_every=c.log_every, stall_iterations=c.stall_iterations,
            stall_tolerance=c.stall_tolerance)
  stft = lambda y: spectral.stft(y, n_fft=c.n_fft, hop_length=c.hop_length)  # noqa: E731
  gl = dict(n_fft=c.n_fft, hop_length=c.hop_length, n_iter=c.phase_iterations,
            momentum=c.phase_momentum, length=p.block, init=c.phase_init)
  ramp = int(round(RAMP_S * c.sample_rate / c.hop_length))
  # Equal power, its gains flat at both ends: a sine's onset flagged the flux measure.
  u = 0.5 - 0.5 * np.cos(np.pi * (np.arange(p.cross) + 0.5) / p.cross)
  fade_in = np.sin(0.5 * np.pi * u).astype(np.float32)
  done, a, tail = 0, None, None
  for k in range(p.n_blocks):
    key = jax.random.fold_in(jax.random.key(seed), k)
    if k == 0:
      solver = optimize.lbfgs(first.fun, solver=c.solver, history_size=c.history_size)
      res = optimize.minimize(solver, first.x0, *first.args, **kw)
      x, known, start = res.x, None, 0
    else:
      w = _continuation(a, rms, key, c, p)
      x_w = objective.to_variable(spectral.spectrogram(w, n_fft=c.n_fft, hop_length=c.hop_length,
                                                       log_max=c.log_max), f, floor)
      prefix, base = x_w[:p.held], x_w[p.held:]
      solver = optimize.lbfgs(synthesis.continued(first.fun, ramp), solver=c.solver,
                              history_size=c.history_size)
      res = optimize.minimize(solver, jnp.zeros_like(base), prefix, base, *first.args, **kw)
      x = synthesis.continue_frames(res.x, prefix, base, ramp)
      known, start = stft(w)[:p.held], p.join
    result = synthesis.result(f, x, res.history, res.stop_reason, res.compile_s)
    mag = spectral.decompress(jnp.asarray(result.spectrogram), log_max=c.log_max)
    z = phase.griffin_lim(mag, key, known=known, **gl)
    rebuilt = jnp.abs(stft(z))
    convergence = float(jnp.linalg.norm(rebuilt - mag) / jnp.linalg.norm(mag))
    end = min(p.join + p.step, start + n_samples - done)
    y = np.array(z[start:end])
    if k:
      m = min(p.cross, y.size)
      y[:m] = y[:m] * fade_in[:m] + tail[:m] * fade_in[::-1][:m]
    a, tail = z[p.step:p.step + p.prefix], np.asarray(z[end:end + p.cross])
    done += y.size
    yield Block(k, y, result, convergence)


class Listener:
  """What the record measures of a long output, kept in bounded memory as its audio
  comes: the first and the last `minute_s`, and the seam measure (`metrics.seam`) at
  each join's cross-fade start and middle over `context_s` either side (at most half a
  block).

  Attributes:
    joins: `[{"at_s", "start": seam, "middle": seam}]`, one per join measured so far.
  """

  def __init__(self, p: Plan, *, n_samples: int, sample_rate: int, minute_s: float = 60.0,
               context_s: float = 10.0):
    self._rate, self._minute = sample_rate, int(minute_s * sample_rate)
    self._context = min(round(context_s * sample_rate), p.step // 2)
    self._pending = [j for j in joins(p) if j[0] + self._context <= n_samples]
    self._head, self._tail = [], np.zeros(0, np.float32)
    self._recent, self._heard = np.zeros(0, np.float32), 0  # the output's samples up to _heard
    self.joins = []

  def add(self, y: np.ndarray) -> None:
    """Takes the next `[samples]` of the output."""
    if sum(h.size for h in self._head) < self._minute:
      self._head.append(y)
    self._tail = np.concatenate([self._tail, y])[-self._minute:]
    self._heard += y.size
    self._recent = np.concatenate([self._recent, y])
    w = self._context
    while self._pending and self._heard >= self._pending[0][0] + w:
      start, middle = self._pending.pop(0)
      i = self._recent.size - (self._heard - (start - w))
      at_start, at_middle = metrics.seam(self._recent[i:i + 2 * w], sample_rate=self._rate,
                                         at=[w, w + middle - start])
      self.joins.append({"at_s": start / self._rate, "start": at_start, "middle": at_middle})
    keep = self._heard - (self._pending[0][0] - w) if self._pending else 0
    self._recent = self._recent[max(self._recent.size - keep, 0):]

  def first_minute(self) -> np.ndarray:
    """`[samples]` the first `minute_s` of the output (all of a shorter one)."""
    return np.concatenate(self._head)[:self._minute]

  def last_minute(self) -> np.ndarray:
    """`[samples]` the last `minute_s` of the output so far."""
    return self._tail

  def summary(self) -> dict:
    """`{"count", "max", "each"}`: the joins measured, the largest of their flux and
    level steps (None without joins), and `joins`."""
    steps = [j[at][k] for j in self.joins for at in ("start", "middle")
             for k in ("flux", "level")]
    return {"count": len(self.joins), "max": max(steps, default=None), "each": self.joins}
