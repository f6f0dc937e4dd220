"""The configuration schema: every key, its default and its check.

`configs/*.py` start from `base()` and change a few fields; `check` rejects unknown
keys and bad values with an `InputError` naming the key.
"""

from collections.abc import Mapping
import functools
import importlib.resources
import importlib.util
import math
import os
import re
from typing import Any

import ml_collections

from jaxstyle import blocks
from jaxstyle import nets
from jaxstyle import objective
from jaxstyle import optimize
from jaxstyle import phase
from jaxstyle import representation
from jaxstyle import synthesis
from jaxstyle.errors import InputError

# The configs/ directory: beside the package in a clone, inside it (jaxstyle/configs) in
# a wheel; the scripts' default configs and the experiments live there.
CONFIGS_DIR = str(importlib.resources.files("jaxstyle.configs"))


def shipped() -> list[str]:
  """The names of the shipped configs: `configs/NAME.py`, sorted."""
  return sorted(f[:-3] for f in os.listdir(CONFIGS_DIR)
                if f.endswith(".py") and not f.startswith("_"))


def load(path_or_name: str) -> ml_collections.ConfigDict:
  """`get_config()` of a config file (unchecked): a path, or a shipped config's name
  (`default`, `texture`, `stylize`, ...; see `shipped()`).

  Raises:
    InputError: no such file or shipped config.
  """
  path = path_or_name
  if not os.path.isfile(path):
    if not re.fullmatch(r"\w+", path_or_name) or path_or_name not in shipped():
      raise InputError(f"config file not found: {path_or_name!r} (shipped configs: "
                       f"{', '.join(shipped())})")
    path = os.path.join(CONFIGS_DIR, f"{path_or_name}.py")
  spec = importlib.util.spec_from_file_location("jaxstyle_loaded_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def base() -> ml_collections.ConfigDict:
  """A small, fast network; the papers' settings are in `configs/`."""
  c = ml_collections.ConfigDict()
  # Front-end.
  c.sample_rate = 22050  # Hz; input audio is resampled to it.
  c.n_fft = 1024  # samples
  c.hop_length = 256  # samples
  c.log_max = 7.0  # log1p magnitudes in [0, log_max] map to [0, 1].
  c.spectrogram = "stft"  # stft | cqt_map (log-frequency map of the STFT) | cqt (librosa)
  c.cqt_bins = 512  # cqt_map and cqt: log-frequency bins ...
  c.cqt_bins_per_octave = 64  # ... and their density
  # Network (frozen; random from net.seed unless `params` names a checkpoint).
  c.net = ml_collections.ConfigDict()
  c.net.orientation = "freq"  # freq | time | 2d
  c.net.stacks = 2
  c.net.channels = 512  # per stack
  c.net.kernel_size = 11
  # Multi-scale (Antognini et al. 2019): comma-separated widths, e.g. "3,11,31,101"; each
  # conv is then one branch per width with net.channels / widths channels; 1D only.
  c.net.kernel_sizes = ""
  c.net.pooling = "max"  # max | avg
  c.net.seed = 0
  # How 1D convs run: im2col (one matrix product) | fft (overlap-save: fewer multiplies,
  # 3x the kernel's memory at kernel 11; faster from about 4096 channels, see BUILD.md).
  c.net.conv = "im2col"
  c.params = ""  # a checkpoint of scripts/train.py (pretrained weights); empty: random
  c.style_layers = "relu1,relu2"  # comma-separated tap names
  # Objective: content_weight * content + style_weight * style + bound_weight * bound.
  # The content keys apply to style transfer only; texture synthesis ignores them.
  c.content_layers = "relu2"
  c.style_weight = 1e8
  c.content_weight = 1.0
  c.bound_weight = 1e-3
  c.init = "content"  # content | noise: the start of style transfer (textures: noise)
  # Noise init: uniform (the papers': uniform spectrogram values in [0, 0.1)) | spectrum
  # (noise shaped to the style's mean spectrum).
  c.noise_init = "uniform"
  # What is optimised: spectrogram (then a phase is reconstructed) | waveform (through
  # the STFT inside the objective; stft only, no phase to guess).
  c.domain = "spectrogram"
  # Spectrogram domain: linear (x is the network-scale spectrogram) | log (x is the log
  # magnitude: non-negative by construction, better conditioned).
  c.parametrization = "linear"
  # Terms beyond the papers', each computed only when its weight is positive:
  # Statistics of the log-magnitude spectrogram (quiet bins count as loud ones):
  c.spectrum_weight = 0.0  # each bin's distribution over time (1D optimal transport)
  c.correlation_weight = 0.0  # correlations between bins over time (co-modulation)
  c.modulation_weight = 0.0  # each bin's autocorrelation over time ...
  c.modulation_lags = 43  # ... up to this lag in frames (43 x 256 / 22050 Hz: 0.5 s)
  # The same statistics of compressed ERB-band envelopes (as McDermott & Simoncelli
  # 2011 describe a texture; each band's envelope sums its bins' power):
  c.band_spectrum_weight = 0.0  # each band's envelope distribution over time
  c.band_correlation_weight = 0.0  # correlations between bands
  c.band_modulation_weight = 0.0  # each band's autocorrelation up to modulation_lags
  c.band_asymmetry_weight = 0.0  # how much faster each band rises than falls (1-8 frames;
  # off in every config: BUILD.md "Band envelopes that rise faster than they fall")
  c.bands = 32  # ERB bands from 50 Hz to 0.45 x the sample rate
  # Statistics of the style layers' features:
  c.autocorrelation_weight = 0.0  # style layers' autocorrelation over time (Antognini 2019)
  c.autocorrelation_lags = 16  # ... up to this lag, in the layer's time steps
  c.sliced_weight = 0.0  # sliced Wasserstein distance of style layers' features (Heitz 2021)
  c.sliced_projections = 64  # ... on this many random directions
  c.diversity_weight = 0.0  # anti-copy: windows that repeat a window of the style
  c.diversity_window = 20  # ... of this many frames
  c.diversity_threshold = 0.5  # ... whose mean frame cosine similarity passes this
  # The waveform's own auditory statistics (jaxstyle.auditory, after McDermott & Simoncelli
  # 2011: ERB-band Hilbert envelopes at 400 Hz, their moments, asymmetry in time, peaks,
  # correlations, modulation power, C1 and C2; the waveform's crest and floor; its
  # 1/6-octave spectrum, as the mean of its log and the log of its mean), in the waveform
  # domain: domain=waveform, or refine_iterations.
  c.auditory_weight = 0.0
  # L-BFGS iterations on the waveform after the spectrogram stage and its phase
  # reconstruction: the same terms through the STFT, plus auditory (0: none; stft only).
  c.refine_iterations = 0
  # The power of the start's amplitude spectrum in the filter of the waveform stage's
  # change: a preconditioner, so that loud bands move as readily as quiet ones (0: none,
  # 1: full; synthesis.preconditioner, measured in BUILD.md; configs/texture.py: 0.5).
  c.refine_precondition = 0.0
  # Optimiser.
  # optax (L-BFGS, the default) | jaxopt (archived upstream; the `jaxopt` extra). Equal
  # or lower losses per iteration on the papers' and jaxstyle's objectives (BUILD.md).
  c.solver = "optax"
  c.iterations = 100  # L-BFGS iterations (each may evaluate the loss several times)
  c.history_size = 10  # L-BFGS memory
  # Stop the spectrogram stage early after this many iterations in a row that each
  # lower the best loss by less than stall_tolerance of it (0: never). The waveform
  # stage (refine_iterations) has no stall stop; both stages stop once history_size + 1
  # iterations in a row find no lower point (`optimize.STUCK`).
  c.stall_iterations = 3
  c.stall_tolerance = 1e-4
  c.log_every = 10  # iterations between progress lines
  # A seamless loop (scripts/texture.py --loop): the output is a ring, its end running
  # into its start: circular STFT, convolutions and autocorrelations; textures only, its
  # length rounded up to a multiple of hop_length * 2**net.stacks.
  c.loop = False
  # Outputs longer than this many seconds are made in blocks of it, each continuing the
  # audio of the one before (jaxstyle.blocks): memory stays that of one block. Textures
  # only, spectrogram=stft in the spectrogram domain, mono; a loop is optimised whole.
  c.block_s = 30.0
  # Batches (scripts/texture.py --batch): each style file its own target, not one mixed target.
  c.batch_styles = False
  # Phase reconstruction (fast Griffin-Lim; librosa's for spectrogram=cqt).
  c.phase_init = "spsi"  # spsi (single-pass spectrogram inversion) | random
  c.phase_iterations = 100
  c.phase_momentum = 0.99
  return c


def texture() -> ml_collections.ConfigDict:
  """jaxstyle's texture objective (`configs/texture.py`; BUILD.md "Texture quality").

  The spectrogram (STFT of 512 samples, hop 128: clicks and crackles need the time
  resolution) is optimised as log magnitudes (non-negative by construction) from noise
  shaped to the style's spectrum, so that the style's statistics match at two scales:
  of each bin and of 32 compressed ERB-band envelopes, each's distribution over time
  (`spectrum`, `band_spectrum`), their correlations (`correlation`, `band_correlation`)
  and their autocorrelations up to 0.5 s (`modulation`, `band_modulation`); beside them
  the Grams of a one-stack random net of kernel width 11 (widths of 3 to 101 frames,
  `net.kernel_sizes`, scored worse and ran at half the speed). Its audio is then
  equalised to the style's long-term spectrum and refined on the waveform for 300
  iterations (60, 120 and 200 scored worse by a judge that shares nothing with the
  objective, against held-out audio; BUILD.md) with the same terms and the waveform's
  own auditory statistics (`auditory_weight`, `synthesis.refine_begin`), its change
  filtered by the square root of the start's amplitude spectrum so that the loud bands
  move too (`refine_precondition`, `synthesis.preconditioner`).
  """
  c = base()
  c.n_fft, c.hop_length = 512, 128
  c.parametrization = "log"
  c.noise_init = "spectrum"
  c.net.stacks = 1
  c.style_layers = c.content_layers = "relu1"
  c.spectrum_weight = 100.0
  c.correlation_weight = 1000.0
  c.modulation_weight = 1000.0
  c.modulation_lags = 86  # 86 x 128 / 22050 Hz: 0.5 s
  c.band_spectrum_weight = c.band_correlation_weight = c.band_modulation_weight = 1000.0
  c.iterations = 250
  c.log_every = 25
  c.refine_iterations = 300
  c.refine_precondition = 0.5
  c.auditory_weight = 100.0
  return c


def huzaifah2019() -> ml_collections.ConfigDict:
  """Huzaifah & Wyse (2019): 3 stacks of 4096, kernel 11, 500 iterations, random net.

  Weights of a random net with content init (1, 1e8, 1e-3); style relu1 + relu2,
  content relu3.
  """
  c = base()
  c.net.stacks = 3
  c.net.channels = 4096
  c.style_layers = "relu1,relu2"
  c.content_layers = "relu3"
  c.style_weight = 1e8
  c.iterations = 500
  c.log_every = 1
  c.net.conv = "fft"  # 1.3x faster per evaluation at 4096 channels (BUILD.md)
  return c


def huzaifah2019_texture() -> ml_collections.ConfigDict:
  """`huzaifah2019()` with the paper's texture weights: alpha 0, beta 1e9, gamma 1e-3."""
  c = huzaifah2019()
  c.init, c.content_weight, c.style_weight, c.bound_weight = "noise", 0.0, 1e9, 1e-3
  return c


def get(c: Mapping[str, Any], key: str) -> Any:
  """The value at a dotted `key` of a config (or of its dict): `get(c, "net.channels")`."""
  return functools.reduce(lambda d, k: d[k], key.split("."), c)


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  """Dotted keys of nested mappings: `{"net": {"channels": 8}}` -> `{"net.channels": 8}`."""
  out = {}
  for k, v in d.items():
    if isinstance(v, Mapping):
      out.update(flatten(v, f"{prefix}{k}."))
    else:
      out[prefix + k] = v
  return out


def override(c: ml_collections.ConfigDict, key: str, value: Any, *, where: str) -> None:
  """Sets the leaf at dotted `key` of `c` to `value`.

  Raises:
    InputError: `key` is not a leaf of `c`, or `value` has the wrong type; the message
      starts with `where` (what asked for it).
  """
  *parents, leaf = key.split(".")
  node = c
  for part in parents:
    node = node.get(part) if isinstance(node, ml_collections.ConfigDict) else None
  if (not isinstance(node, ml_collections.ConfigDict) or leaf not in node
      or isinstance(node[leaf], ml_collections.ConfigDict)):
    raise InputError(f"{where}: unknown config key {key!r}")
  try:
    node[leaf] = value
  except TypeError as err:
    raise InputError(f"{where}: config.{key}: {err}") from None


def _unknown_keys(c, ref, prefix=""):
  for k in c.keys():
    if k not in ref:
      yield prefix + k
    elif isinstance(ref[k], ml_collections.ConfigDict):
      if not isinstance(c[k], ml_collections.ConfigDict):
        yield prefix + k
      else:
        yield from _unknown_keys(c[k], ref[k], prefix + k + ".")


def _layers(value: str) -> tuple[str, ...]:
  return tuple(s.strip() for s in value.split(",") if s.strip())


def kernel_sizes(c: ml_collections.ConfigDict) -> tuple[int, ...]:
  """The multi-scale widths of `net.kernel_sizes`, e.g. `"3,11"` -> `(3, 11)` (empty: one
  width, net.kernel_size)."""
  try:
    return tuple(int(w) for w in c.net.kernel_sizes.split(",") if w.strip())
  except ValueError:
    raise InputError("config.net.kernel_sizes must be comma-separated integers, got "
                     f"{c.net.kernel_sizes!r}") from None


def representation_spec(c: ml_collections.ConfigDict) -> representation.Representation:
  """The config's `representation.Representation`."""
  return representation.Representation(c.spectrogram, c.sample_rate, c.n_fft, c.hop_length,
                                        float(c.log_max), c.cqt_bins, c.cqt_bins_per_octave)


def net_spec(c: ml_collections.ConfigDict) -> nets.Net:
  """The config's `nets.Net`."""
  n = c.net
  return nets.Net(n.orientation, n.stacks, n.channels, n.kernel_size, kernel_sizes(c), n.pooling,
                  n.seed, n.conv)


def objective_spec(c: ml_collections.ConfigDict) -> objective.Objective:
  """The config's `objective.Objective`."""
  terms = ("style", "content", "bound", *objective.EXTRA_TERMS)
  return objective.Objective(
      representation_spec(c), c.domain, c.parametrization, c.loop, _layers(c.style_layers),
      _layers(c.content_layers), tuple((k, float(c[f"{k}_weight"])) for k in terms),
      c.modulation_lags, c.bands, c.autocorrelation_lags, c.sliced_projections, c.net.seed + 1,
      c.diversity_window, float(c.diversity_threshold))


def lbfgs_spec(c: ml_collections.ConfigDict) -> optimize.LBFGS:
  """The config's `optimize.LBFGS`."""
  return optimize.LBFGS(c.solver, c.iterations, c.history_size, c.stall_iterations,
                        c.stall_tolerance, c.log_every)


def phase_spec(c: ml_collections.ConfigDict) -> phase.GriffinLim:
  """The config's `phase.GriffinLim`."""
  return phase.GriffinLim(c.phase_init, c.phase_iterations, c.phase_momentum)


def output_samples(c: ml_collections.ConfigDict, n_samples: int) -> int:
  """The samples of an output of about `n_samples` (a loop's rounded up to a whole ring:
  `synthesis.output_length`)."""
  return synthesis.output_length(n_samples, hop_length=c.hop_length, n_fft=c.n_fft,
                                 stacks=c.net.stacks, loop=c.loop)


def spec(c: ml_collections.ConfigDict, *, n_samples: int) -> synthesis.Spec:
  """The `synthesis.Spec` of a config for an output of `n_samples` samples (a loop's:
  `output_samples`): where the config stops. Raises `InputError` naming a bad key."""
  return synthesis.Spec(objective_spec(c), net_spec(c), lbfgs_spec(c), phase_spec(c), n_samples,
                        c.init, c.noise_init, c.refine_iterations, float(c.refine_precondition))


def in_blocks(c: ml_collections.ConfigDict, n_samples: int, *, morph: bool = False
              ) -> tuple[blocks.Plan, synthesis.Spec]:
  """The `blocks.Plan` of an output of `n_samples` in blocks of at most `c.block_s` (a
  morph's: at most `blocks.MORPH_BLOCK_S`) and the spec of one block; raises `InputError`
  if blocks cannot make it (`blocks.check`)."""
  block_s = min(c.block_s, blocks.MORPH_BLOCK_S) if morph else c.block_s
  blocks.check(spec(c, n_samples=n_samples), block_s, n_samples, morph=morph)
  p = blocks.plan(representation_spec(c), block_s, n_samples)
  return p, spec(c, n_samples=p.block)


def check(c: ml_collections.ConfigDict) -> None:
  """Raises `InputError` naming the first unknown key or bad value of `c`: unknown keys
  and the runner's keys here, the rest where the specs are built (`spec`)."""
  unknown = list(_unknown_keys(c, base()))
  if unknown:
    raise InputError(f"unknown config key(s): {', '.join(unknown)} "
                     f"(known: {', '.join(sorted(base().keys()))})")
  if not (isinstance(c.block_s, (int, float)) and math.isfinite(c.block_s) and c.block_s > 0):
    raise InputError(f"config.block_s must be a positive number of seconds, got {c.block_s!r}")
  spec(c, n_samples=output_samples(c, 4 * c.n_fft))
