"""Long textures in bounded memory: blocks, each continuing the audio of the one before.

An output longer than `config.block_s` is made block by block, so memory is that of
one block whatever the length. The blocks are all as long, at most `block_s`, and share
the output evenly (a last block that added a short remainder cost a whole block's
time), each optimised against the same style targets. Block k > 0 starts from
`PREFIX_S` of block k-1's audio `a` (from its sample `step`; block k-1 runs on past `a`
to `EDGE_S` before its end, which its zero-padded convs and STFT colour):

- the STFT frames that see only `a` are held fixed (the prefix: the statistics see
  what is heard before the block);
- the other frames start from the STFT of `a` running, over `FADE_WINDOWS` STFT
  windows (equal power), into noise shaped to the style's spectrum, so the start has no
  step (a one-window fade left a flux step of about 15%); the optimiser's change to
  them fades in over `RAMP_S` (`synthesis.continued`);
- Griffin-Lim holds the prefix's phases, so the block's audio is `a` wherever only
  prefix frames cover it.

A morph gives each block its own targets (`morph`). A block's statistics count its held
frames, which were made for the block before's targets, so block k > 0 aims at its own
moved towards those by the held frames' share (`held_share`): then its new frames aim
at its own. Aimed at its own, they made up for the held frames: after a step in the
targets, the texture was near them only a block later (BUILD.md "A morph's held
frames").

The output crosses from block k-1 to block k (equal power, over `CROSS_S`) only
`SETTLE_S` after the held frames: the optimiser makes an onset in the first 0.3 s of
new texture (with the modulation terms; BUILD.md "Long outputs"), which the output
takes from block k-1 instead.

Shapes: waveforms `[samples]`, spectrograms `[time, freq]` at network scale.
"""

from collections.abc import Callable, Iterator
import dataclasses
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstyle import batch
from jaxstyle import curves
from jaxstyle import metrics
from jaxstyle import objective
from jaxstyle import representation as representation_lib
from jaxstyle import spectral
from jaxstyle import synthesis
from jaxstyle.errors import InputError

# A morph is made in blocks of at most this long, each with its own targets, so that
# they move every few seconds.
MORPH_BLOCK_S = 5.0
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
    ramp: frames over which the optimiser's change fades in after the held ones.
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
  ramp: int


def needed(n_samples: int, *, block_s: float, sample_rate: int, loop: bool = False) -> bool:
  """Whether an output of `n_samples` is longer than one block of `block_s`; a loop is
  optimised whole, however long."""
  return not loop and n_samples > round(block_s * sample_rate)


def check(spec: synthesis.Spec, block_s: float, n_samples: int, *, morph: bool = False) -> None:
  """Refuses, with `InputError`, an output longer than one block (or a `morph`) that
  blocks cannot make (`spec`: the synthesis' spec, any length)."""
  o, r = spec.objective, spec.representation
  length = ("a morph moves its targets from block to block" if morph else
            f"{n_samples / r.sample_rate:g} s is longer than config.block_s ({block_s:g} s)")
  if o.domain != "spectrogram" or r.kind != "stft" or spec.net.orientation == "time":
    raise InputError(f"{length}, so it is made in blocks, which need domain=spectrogram, "
                     f"spectrogram=stft and net.orientation freq or 2d; got {o.domain}, "
                     f"{r.kind}, {spec.net.orientation} (or raise block_s)")
  plan(r, block_s, n_samples)


def plan(r: representation_lib.Representation, block_s: float, n_samples: int) -> Plan:
  """The `Plan` of an output of `n_samples` in blocks of at most `block_s` seconds, which
  share it evenly: each adds `step`, the last the rest (at most `n_blocks` hops less)."""
  hop, n_fft = r.hop_length, r.n_fft
  frames = lambda s: max(int(round(s * r.sample_rate / hop)), 1)  # noqa: E731
  block, prefix, edge, settle, cross = (hop * frames(s) for s in (
      block_s, PREFIX_S, EDGE_S, SETTLE_S, CROSS_S))
  fade = prefix - FADE_WINDOWS * n_fft
  held = (fade - n_fft // 2) // hop + 1
  switch = held * hop - n_fft // 2
  join = switch + settle
  lead = edge + max(prefix, join + cross)  # what a block holds beyond the step it adds
  step = block - lead
  if held < 1 or step < prefix // 2:
    raise InputError(f"config.block_s={block_s} s is too short for blocks that continue "
                     f"{PREFIX_S} s of audio at n_fft={n_fft}")
  n_blocks = max(math.ceil((n_samples - join) / step), 1)
  if n_blocks > 1:  # they share the output evenly: none is optimised to add a remainder
    step = min(step, hop * math.ceil((n_samples - join) / (n_blocks * hop)))
    block = step + lead
  ramp = int(round(RAMP_S * r.sample_rate / hop))
  return Plan(block, prefix, held, switch, fade, join, cross, step, n_blocks, ramp)


def middles(p: Plan, n_samples: int) -> np.ndarray:
  """`[n_blocks]` the output sample at the middle of what each block adds: block 0 adds
  the output up to `join + step`, block k > 0 the `step` (or the rest) from there on."""
  k = np.arange(p.n_blocks)
  start = np.where(k == 0, 0, p.join + k * p.step)
  return 0.5 * (start + np.minimum(p.join + (k + 1) * p.step, n_samples))


def joins(p: Plan) -> list[tuple[int, int]]:
  """`(start, middle)` of the cross-fades to blocks 1, 2, ...: the output samples where
  each is first heard and where it weighs as much as the block before."""
  return [(p.join + k * p.step, p.join + k * p.step + p.cross // 2) for k in range(1, p.n_blocks)]


def held_share(p: Plan, hop_length: int) -> float:
  """The share of a block k > 0's STFT frames (one per `hop_length` samples) that are
  held: their weight in its statistics, which average over its frames."""
  return p.held * hop_length / p.block


@dataclasses.dataclass
class Block:
  """One block's part of the output, and how its synthesis went."""

  index: int
  audio: np.ndarray  # [samples] to append to the output
  result: synthesis.Result


def _continuation(a: jnp.ndarray, rms: jnp.ndarray, key: jax.Array,
                  r: representation_lib.Representation, p: Plan) -> jnp.ndarray:
  """`[block]`: `a` `[prefix]` running into shaped noise from `p.fade` (equal power)."""
  n = p.prefix - p.fade
  noise = synthesis.shaped_noise(rms, key, n_samples=p.block - p.fade, n_fft=r.n_fft,
                                 hop_length=r.hop_length)
  gain = jnp.sin(0.5 * jnp.pi * (jnp.arange(n) + 0.5) / n)
  mixed = a[p.fade:] * gain[::-1] + noise[:n] * gain
  return jnp.concatenate([a[:p.fade], mixed, noise[n:]])


@functools.partial(jax.jit, static_argnums=(0, 1))
def _hold(spec: synthesis.Spec, p: Plan, a: jnp.ndarray, targets: objective.Targets,
          key: jax.Array) -> synthesis.Hold:
  """The `synthesis.Hold` of block k > 0 from `a` (block k-1's audio from its `step`)."""
  r = spec.representation
  w = _continuation(a, targets.rms, key, r, p)
  x = objective.to_variable(spectral.spectrogram(w, n_fft=r.n_fft, hop_length=r.hop_length,
                                                 log_max=r.log_max), spec.objective, targets.floor)
  known = spectral.stft(w, n_fft=r.n_fft, hop_length=r.hop_length)[:p.held]
  return synthesis.Hold(x[:p.held], x[p.held:], known, p.ramp)


Schedule = Callable[[float], objective.Targets]  # the targets at an output time (seconds)


def morph(start: objective.Targets, end: objective.Targets, share: curves.Curve) -> Schedule:
  """The targets at each time of a morph: `end`'s share `share.at(t)` of the way from
  `start` (`objective.interpolate`; one compiled program for every share)."""
  return lambda t_s: _interpolate(start, end, jnp.float32(share.at(t_s)))


_interpolate = jax.jit(objective.interpolate)


def rise_s(p: Plan, n_samples: int, sample_rate: int) -> tuple[float, float]:
  """Where a built-in morph curve (`curves.morph`) rises from 0 to 1, in seconds: from the
  first block's middle to the last's, so that the first block has the start's targets
  and the last the end's; over the whole output if that is one block."""
  m = middles(p, n_samples) / sample_rate
  return (float(m[0]), float(m[-1])) if m.size > 1 else (0.0, n_samples / sample_rate)


def synthesize(spec: synthesis.Spec, targets: objective.Targets | Schedule, p: Plan, *,
               n_samples: int, seed: int = 0, variables: dict | None = None,
               shaper: Callable[[np.ndarray, int], np.ndarray] | None = None) -> Iterator[Block]:
  """The blocks of a texture of `n_samples` samples, as each is made.

  Args:
    spec: the spec of one block (`n_samples` is `p.block`) that `check` passes.
    targets: the style's (`synthesis.targets`), or a function of the output's time
      (seconds) giving each block its own: called at the middle of the output the block
      adds (`middles`; a morph: `objective.interpolate`), block k > 0's moved towards
      block k-1's by `held_share`.
    p: the output's `plan`.
    n_samples: output samples; the blocks' audio adds up to exactly this.
    seed: block k uses noise from `jax.random.fold_in(key(seed), k)` (block 0 as a
      texture made alone with `seed`).
    variables: the network's (default random, made once).
    shaper: `(audio [samples], offset) -> audio` applied to each block's waveform,
      which starts at output sample `offset`, before it is cut and joined (level and
      tilt curves, `curves.shape`); the next block continues the unshaped audio.

  Yields:
    `Block`s in order; their `audio` concatenated is the output.
  """
  if spec.n_samples != p.block:
    raise ValueError(f"a block's spec has {spec.n_samples} samples, the plan {p.block}")
  variables = synthesis.random_variables(spec) if variables is None else variables
  targets_at = targets if callable(targets) else (lambda t_s: targets)
  rate = spec.representation.sample_rate
  one = lambda tree: jax.tree.map(lambda a: a[None], tree)  # noqa: E731
  # Equal power, its gains flat at both ends: a sine's onset flagged the flux measure.
  u = 0.5 - 0.5 * np.cos(np.pi * (np.arange(p.cross) + 0.5) / p.cross)
  fade_in = np.sin(0.5 * np.pi * u).astype(np.float32)
  done, a, tail, before, at_s = 0, None, None, None, middles(p, n_samples) / rate
  share = held_share(p, spec.representation.hop_length)
  for k in range(p.n_blocks):
    key = jax.random.fold_in(jax.random.key(seed), k)
    start = 0 if k == 0 else p.join
    end = min(p.join + p.step, start + n_samples - done)
    t = goal = targets_at(at_s[k])
    if k and callable(targets):  # its statistics count the held frames, made for `before`
      goal = _interpolate(t, before, jnp.float32(share))
    before = t
    hold = None if k == 0 else one(_hold(spec, p, a, goal, key))
    (res,) = batch.run(spec, one(goal), key[None], variables=variables, hold=hold)
    z = res.audio if shaper is None else shaper(res.audio, done - start)
    y = np.array(z[start:end])
    if k:
      m = min(p.cross, y.size)
      y[:m] = y[:m] * fade_in[:m] + tail[:m] * fade_in[::-1][:m]
    a, tail = jnp.asarray(res.audio[p.step:p.step + p.prefix]), z[end:end + p.cross].copy()
    done += y.size
    yield Block(k, y, res)


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
