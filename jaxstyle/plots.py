"""Figures: spectrograms on their own frequency axes, a run's summary, a grid.

Drawn with matplotlib's object API (`matplotlib.figure.Figure`), so importing jaxstyle
changes no matplotlib state (e.g. a notebook's inline backend). Spectrograms are
network-scale `[time, bins]` arrays, drawn with time on x and their magnitudes in dB
(`level_db`), so that a dropout or a missing band shows.
"""

from collections.abc import Sequence
import math

from matplotlib import axes as axes_lib
from matplotlib import figure
from matplotlib import image
import numpy as np

from jaxstyle import representation
from jaxstyle import spectral

RANGE_DB = 80.0  # the levels shown, down from each panel's loudest bin


def level_db(spec: np.ndarray, r: representation.Representation) -> np.ndarray:
  """The magnitudes of `spec` `[time, bins]` (network scale of `r`) in dB relative to
  its largest, `[time, bins]`, floored at `-RANGE_DB`."""
  mag = np.maximum(np.asarray(spectral.decompress(np.asarray(spec), log_max=r.log_max),
                              np.float64), 0.0)
  return 20 * np.log10(np.maximum(mag / max(mag.max(), 1e-30), 10 ** (-RANGE_DB / 20)))


def draw_spectrogram(ax: axes_lib.Axes, spec: np.ndarray, r: representation.Representation,
                     title: str, *, fontsize: float | None = None) -> image.AxesImage:
  """Draws `spec` `[time, bins]` of representation `r` on `ax` in dB (`level_db`, 0 at
  the top of the colour map): STFT bins on a linear kHz axis, log-frequency bins (`cqt`,
  `cqt_map`) with ticks in Hz at octaves. Returns the image, e.g. for a colour bar."""
  seconds = spec.shape[0] * r.hop_length / r.sample_rate
  top = r.sample_rate / 2000 if r.kind == "stft" else spec.shape[1]
  im = ax.imshow(level_db(spec, r).T, origin="lower", aspect="auto", cmap="magma",
                 vmin=-RANGE_DB, vmax=0, extent=(0, seconds, 0, top))
  ax.set_title(title, fontsize=fontsize)
  ax.set_xlabel("time (s)")
  if r.kind == "stft":
    ax.set_ylabel("kHz")
    return im
  centres_hz = representation.bin_frequencies_hz(r)
  octaves_hz = 2.0 ** np.arange(math.ceil(np.log2(centres_hz[0])),
                                math.floor(np.log2(centres_hz[-1])) + 1, dtype=np.float64)
  # Bin k spans [k, k + 1) on the axis; its centre frequency sits at k + 0.5.
  ax.set_yticks(np.interp(np.log2(octaves_hz), np.log2(centres_hz),
                          np.arange(centres_hz.size) + 0.5))
  ax.set_yticklabels([f"{f:g}" for f in octaves_hz])
  ax.set_ylabel("Hz")
  return im


def summary_figure(*, panels: Sequence[tuple[str, np.ndarray]], history: dict[str, list[float]],
                   r: representation.Representation) -> figure.Figure:
  """One panel per `(title, spectrogram [time, bins])` of representation `r`, each with a
  colour bar in dB, then the loss terms over the iterations."""
  fig = figure.Figure(figsize=(8, 2.4 * (len(panels) + 1)), dpi=80)
  axes = fig.subplots(len(panels) + 1, 1, squeeze=False)[:, 0]
  for ax, (title, spec) in zip(axes, panels, strict=False):
    fig.colorbar(draw_spectrogram(ax, spec, r, title), ax=ax, label="dB")
  ax = axes[-1]
  for key, values in history.items():
    if key != "iteration" and max(values) > 0:
      ax.semilogy(history["iteration"], values, label=key)
  ax.set(title="loss (terms unweighted)", xlabel="L-BFGS iteration")
  ax.legend()
  fig.tight_layout()
  return fig


def grid_figure(
    *,
    inputs: Sequence[tuple[str, np.ndarray, representation.Representation]],
    results: Sequence[tuple[str, np.ndarray, representation.Representation]],
    columns: int,
) -> figure.Figure:
  """A grid of spectrograms: the inputs on top, then the results.

  Each panel is `(title, spectrogram [time, bins], its representation)`; rows hold
  `columns` panels.
  """
  columns = max(1, min(columns, max(len(results), len(inputs))))
  input_rows = math.ceil(len(inputs) / columns)
  result_rows = math.ceil(len(results) / columns)
  rows = max(input_rows + result_rows, 1)
  fig = figure.Figure(figsize=(4 * columns, 2.6 * rows), dpi=70)
  axes = fig.subplots(rows, columns, squeeze=False)
  for ax in axes.ravel():
    ax.axis("off")
  cells = [axes.ravel()[i] for i in range(len(inputs))]
  cells += [axes.ravel()[input_rows * columns + i] for i in range(len(results))]
  for ax, (title, spec, r) in zip(cells, list(inputs) + list(results), strict=True):
    ax.axis("on")
    draw_spectrogram(ax, spec, r, title, fontsize=9)
  fig.tight_layout()
  return fig
