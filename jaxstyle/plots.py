"""The figure of a run: the style, content and result spectrograms and the loss curve."""

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def summary_figure(
    path: str,
    *,
    panels: Sequence[tuple[str, np.ndarray]],
    history: dict[str, list[float]],
    sample_rate: int,
    hop_length: int,
) -> None:
  """Writes a PNG: one panel per `(title, spectrogram [time, freq])`, then the losses.

  Spectrograms are network-scale (log magnitude / log_max), drawn with time on x.
  """
  fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(8, 2.4 * (len(panels) + 1)))
  for ax, (title, spec) in zip(axes, panels, strict=False):
    seconds = spec.shape[0] * hop_length / sample_rate
    ax.imshow(np.asarray(spec).T, origin="lower", aspect="auto", cmap="magma",
              extent=(0, seconds, 0, sample_rate / 2000), vmin=0, vmax=1)
    ax.set(title=title, xlabel="time (s)", ylabel="kHz")
  ax = axes[-1]
  for key, values in history.items():
    if key not in ("iteration", "seconds") and max(values) > 0:
      ax.semilogy(history["iteration"], values, label=key)
  ax.set(title="loss (terms unweighted)", xlabel="L-BFGS iteration")
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)
