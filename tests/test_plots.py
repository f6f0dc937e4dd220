"""Figures: no global matplotlib state, and frequency axes in the representation's units."""

import subprocess
import sys

import librosa
from matplotlib import figure
import numpy as np
import pytest

from jaxstyle import config
from jaxstyle import plots
from jaxstyle import representation


def test_importing_jaxstyle_leaves_the_matplotlib_backend_alone():
  code = ("import matplotlib; matplotlib.use('svg'); "
          "import jaxstyle.pipeline, jaxstyle.plots, jaxstyle.experiments, jaxstyle.evaluation; "
          "print(matplotlib.get_backend())")
  p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
  assert p.returncode == 0, p.stderr
  assert p.stdout.strip().lower() == "svg"


@pytest.mark.parametrize("spectrogram", ["stft", "cqt_map", "cqt"])
def test_bin_frequencies_match_librosa(spectrogram):
  c = config.base()
  c.spectrogram = spectrogram
  got = representation.bin_frequencies_hz(config.representation_spec(c))
  if spectrogram == "stft":
    want = librosa.fft_frequencies(sr=c.sample_rate, n_fft=c.n_fft)
  else:
    fmin = 2 * c.sample_rate / c.n_fft if spectrogram == "cqt_map" else librosa.note_to_hz("C1")
    want = librosa.cqt_frequencies(c.cqt_bins, fmin=fmin, bins_per_octave=c.cqt_bins_per_octave)
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_log_frequency_axis_ticks_sit_on_the_bins_they_name():
  c = config.base()
  c.spectrogram = "cqt"
  ax = figure.Figure().subplots()
  r = config.representation_spec(c)
  plots.draw_spectrogram(ax, np.zeros((10, c.cqt_bins)), r, "cqt")
  centres = representation.bin_frequencies_hz(r)
  labels = [float(t.get_text()) for t in ax.get_yticklabels()]
  assert ax.get_ylabel() == "Hz" and labels[0] >= centres[0] and labels[-1] <= centres[-1]
  assert np.allclose(np.diff(np.log2(labels)), 1)  # one tick per octave
  for tick, hz in zip(ax.get_yticks(), labels, strict=True):
    # The bin drawn at the tick (bin k spans [k, k + 1)) has about the tick's frequency.
    assert centres[int(tick)] == pytest.approx(hz, rel=2 ** (1 / c.cqt_bins_per_octave) - 1)


def test_spectrograms_are_drawn_in_db_so_quiet_bins_show():
  r = config.representation_spec(config.base())
  # Bins at 1, 0.1, 0.01 and 0 times the loudest magnitude: 0, -20, -40 and -80 dB (the floor).
  mag = np.array([[1.0, 0.1, 0.01, 0.0]]) * 50
  spec = np.log1p(mag) / r.log_max  # network scale (`spectral.compress`)
  fig = plots.summary_figure(panels=[("p", spec)], history={"iteration": [0], "style": [1.0]},
                             r=r)
  im = fig.axes[0].get_images()[0]
  np.testing.assert_allclose(im.get_array()[:, 0], [0, -20, -40, -80], atol=1e-3)
  # One hundredth of the loudest magnitude sits mid-scale, not at the black end.
  assert im.norm(im.get_array()[2, 0]) == pytest.approx(0.5, abs=1e-4)
  assert "dB" in [a.get_ylabel() for a in fig.axes]  # the colour bar
