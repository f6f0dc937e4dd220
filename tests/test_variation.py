"""Textures that change: targets interpolated term by term (against closed forms), mixed by
weight, morphed along an output, and level and tilt curves applied to it."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxstyle
from jaxstyle import InputError
from jaxstyle import batch
from jaxstyle import blocks
from jaxstyle import config
from jaxstyle import curves
from jaxstyle import examples
from jaxstyle import inputs
from jaxstyle import losses
from jaxstyle import metrics
from jaxstyle import objective
from jaxstyle import pipeline
from tests.test_scripts import TINY
from tests.test_scripts import _script
from tests.test_scripts import _wav

SR = 22050


@pytest.fixture
def small():
  """The texture objective (every statistics term) on a tiny net and STFT."""
  c = config.texture()
  c.n_fft, c.hop_length, c.bands, c.modulation_lags = 256, 64, 8, 10
  c.net.channels, c.net.kernel_size, c.iterations, c.phase_iterations = 16, 5, 15, 10
  c.refine_iterations = 3
  c.band_asymmetry_weight = 10.0  # off in `config.texture()`
  return c


def _targets(c, *clips, n_samples=SR):
  spec = config.spec(c, n_samples=n_samples)
  return spec, [batch.targets(spec, [jaxstyle.spectrogram(y, c)], None, [y]) for y in clips]


def test_interpolated_grams_are_the_weighted_grams(small):
  _, (a, b) = _targets(small, examples.birds_and_rain(duration_s=1.0),
                       examples.tones(duration_s=0.7))
  for w in (0.0, 0.3, 1.0):
    t = objective.interpolate(a, b, w)
    for k, factor in t.gram.items():
      gram = lambda f: np.asarray(f).T @ np.asarray(f)  # noqa: E731
      np.testing.assert_allclose(gram(factor), (1 - w) * gram(a.gram[k]) + w * gram(b.gram[k]),
                                 rtol=1e-4, atol=1e-7)


def test_distributions_move_along_the_wasserstein_geodesic():
  # Between two Gaussians the W2 geodesic is the Gaussian with the means and the standard
  # deviations interpolated: its quantiles, on any count of points.
  pa, pb = (np.arange(200) + 0.5) / 200, (np.arange(300) + 0.5) / 300
  a = objective.Targets(gram={}, floor=jnp.float32(1e-5), rms=jnp.ones(2),
                        spectrum=jnp.asarray(np.stack([stats.norm.ppf(pa)] * 2, 1), jnp.float32))
  b = a._replace(spectrum=jnp.asarray(np.stack([3 + 2 * stats.norm.ppf(pb)] * 2, 1), jnp.float32))
  for w in (0.25, 0.5):
    got = np.asarray(objective.interpolate(a, b, w).spectrum)[:, 0]
    want = (1 - w) * 0 + w * 3 + ((1 - w) * 1 + w * 2) * stats.norm.ppf(pb)
    np.testing.assert_allclose(got[5:-5], want[5:-5], atol=0.02)
  # A cross-fade of the two (their mixture) would be bimodal; the geodesic keeps one mode.
  mid = np.asarray(objective.interpolate(a, b, 0.5).spectrum)[:, 0]
  assert abs(np.median(mid) - 1.5) < 0.02


def test_correlations_spectra_and_band_scales_interpolate_validly(small):
  _, (a, b) = _targets(small, examples.birds_and_rain(duration_s=1.0),
                       examples.tones(duration_s=1.0))
  w = 0.4
  t = objective.interpolate(a, b, w)
  for k in ("correlation", "band_correlation", "modulation", "band_modulation", "band_asymmetry"):
    np.testing.assert_allclose(t._asdict()[k], (1 - w) * a._asdict()[k] + w * b._asdict()[k],
                               rtol=1e-5, atol=1e-6)
  corr = np.asarray(t.correlation, np.float64)
  np.testing.assert_allclose(np.diag(corr), np.diag(np.asarray(a.correlation)), atol=1e-5)
  assert np.linalg.eigvalsh(corr).min() > -1e-4  # still positive semi-definite
  # The long-term spectrum moves in log magnitude.
  np.testing.assert_allclose(np.log(t.rms), (1 - w) * np.log(a.rms) + w * np.log(b.rms),
                             rtol=1e-4, atol=1e-4)
  # The band envelopes' quantiles move in absolute units, then take the new scale.
  n = max(len(a.band_spectrum), len(b.band_spectrum))
  absolute = ((1 - w) * losses.quantiles(a.band_spectrum, n) * a.band_scale
              + w * losses.quantiles(b.band_spectrum, n) * b.band_scale)
  np.testing.assert_allclose(t.band_spectrum * t.band_scale, absolute, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(np.log(t.band_scale), (1 - w) * np.log(a.band_scale)
                             + w * np.log(b.band_scale), rtol=1e-4, atol=1e-5)


def test_weights_do_not_depend_on_the_clips_lengths(small):
  a = examples.birds_and_rain(duration_s=1.0, seed=3)
  b = examples.tones(duration_s=1.0, seed=4)
  spec, (ta, ta2, tb) = _targets(small, a, np.tile(a, 2), b)
  equal = objective.barycentre([ta, tb], [0.5, 0.5])
  longer = objective.barycentre([ta2, tb], [0.5, 0.5])  # a twice as long: same statistics
  # Distributions on a common count of quantiles, but for the outermost (the clips' ends,
  # whose frames see the STFT's zero padding: twice in two clips, once in the tiled one).
  same = lambda k, x: losses.quantiles(x, 64)[2:-2] if k.endswith("spectrum") else x  # noqa: E731
  for k in ("spectrum", "band_spectrum", "correlation", "band_correlation", "rms"):
    np.testing.assert_allclose(same(k, equal._asdict()[k]), same(k, longer._asdict()[k]),
                               rtol=0.05, atol=0.15, err_msg=k)
  # Pooled instead (no weights), the longer clip weighs more.
  pooled = lambda clips: batch.targets(  # noqa: E731
      spec, [jaxstyle.spectrogram(y, small) for y in clips], None, clips)
  gap = lambda x, y: float(np.abs(np.asarray(x) - np.asarray(y)).max())  # noqa: E731
  assert gap(pooled([np.tile(a, 2), b]).rms, pooled([a, b]).rms) > 5 * gap(longer.rms, equal.rms)


def test_a_mix_is_nearer_the_style_with_the_larger_weight(small):
  a = examples.birds_and_rain(duration_s=1.0, seed=5)
  b = examples.tones(duration_s=1.0, seed=6)
  far = {}
  for wa in (0.8, 0.2):
    y = jaxstyle.texture([a, b], small, weights=[wa, 1 - wa], seed=1)
    far[wa] = [metrics.texture_stats_distance(s, y, sample_rate=SR)["total"] for s in (a, b)]
  assert far[0.8][0] < far[0.8][1] and far[0.2][1] < far[0.2][0], far


def test_a_morph_starts_as_its_style_and_ends_as_the_other(small):
  rate = small.sample_rate = SR // 2  # the same blocks in half the samples
  a = examples.birds_and_rain(duration_s=2.0, sample_rate=rate, seed=7)
  b = examples.tones(duration_s=2.0, sample_rate=rate, seed=8)
  y = jaxstyle.texture(a, small, duration_s=14.0, morph_to=b, seed=2)
  assert y.size == 14 * rate and np.all(np.isfinite(y))
  window = 4 * rate
  first, last = y[:window], y[-window:]
  d = lambda ref, x: metrics.texture_stats_distance(ref, x, sample_rate=rate)["total"]  # noqa: E731
  assert d(a, first) < d(b, first) and d(b, last) < d(a, last)
  assert d(a, last) > d(a, first) and d(b, first) > d(b, last)


@pytest.mark.parametrize("kind", curves.MORPH_CURVES)
def test_a_morphs_first_block_has_its_styles_targets_and_its_last_the_others(small, kind):
  a = examples.birds_and_rain(duration_s=1.0, seed=7)
  b = examples.tones(duration_s=1.0, seed=8)
  n_samples = 14 * SR
  plan, spec = config.in_blocks(small, n_samples, morph=True)
  style_a, style_b = (jaxstyle.spectrogram(y, small) for y in (a, b))
  at = inputs.targets_of(spec, [style_a], None, waves=[a], morph=[style_b], morph_waves=[b],
                         variation=inputs.Variation(morph_to=("b",), morph_curve=kind),
                         plan=plan, n_samples=n_samples)
  middle_s = blocks.middles(plan, n_samples) / SR
  assert middle_s.size > 2
  # The Grams as matrices; the diversity term's reference holds both styles throughout.
  terms = lambda t: (t._replace(style=None, gram={k: f.T @ f for k, f in t.gram.items()}))  # noqa: E731
  for t_s, style, y in ((middle_s[0], style_a, a), (middle_s[-1], style_b, b)):
    want = terms(batch.targets(spec, [style], None, [y]))
    for got, expected in zip(jax.tree.leaves(terms(at(t_s))), jax.tree.leaves(want), strict=True):
      np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
  one_to_end = [float(jnp.sum((at(t).spectrum - at(middle_s[-1]).spectrum) ** 2))
                for t in middle_s]
  assert all(np.diff(one_to_end) < 0), one_to_end


def test_a_morphs_block_aims_its_held_frames_at_the_targets_they_were_made_for(
    small, monkeypatch):
  """A block's Gram averages over its frames. After a block with A's targets, a block
  with B's holds frames made for A: it aims at the Gram of A's frames where it holds them
  and B's after (computed on such a spectrogram), so its new frames aim at B's."""
  plan, spec = config.in_blocks(small, 8 * SR, morph=True)
  # Each clip repeats what the held frames span, so any stretch of it has its Gram.
  a, b = (np.resize(y[:plan.held * small.hop_length], plan.block) for y in (
      examples.birds_and_rain(duration_s=2.0, seed=7), examples.tones(duration_s=2.0, seed=8)))
  style_a, style_b = (jaxstyle.spectrogram(y, small) for y in (a, b))
  t_a, t_b = (batch.targets(spec, [s], None, [y]) for s, y in ((style_a, a), (style_b, b)))
  aimed = []

  def run(spec, targets, keys, **kwargs):
    aimed.append(jax.tree.map(lambda x: x[0], targets))
    return [types.SimpleNamespace(audio=b)]

  monkeypatch.setattr(blocks.batch, "run", run)
  middle_1 = blocks.middles(plan, 8 * SR)[1] / SR
  list(blocks.synthesize(spec, lambda t_s: t_a if t_s < middle_1 else t_b, plan,
                         n_samples=8 * SR))
  both = np.concatenate([style_a[:plan.held], style_b[plan.held:]])
  want = batch.targets(spec, [both], None, [b])
  gram = lambda t: {k: np.asarray(f.T @ f) for k, f in t.gram.items()}  # noqa: E731
  off = lambda t, k, g: np.linalg.norm(gram(t)[k] - g) / np.linalg.norm(g)  # noqa: E731
  for k, g in gram(want).items():
    assert off(aimed[1], k, g) < 0.05 < 0.2 < off(t_b, k, g), (off(aimed[1], k, g), off(t_b, k, g))
  assert len(aimed) == plan.n_blocks
  for k, g in gram(t_a).items():  # block 0 holds no frames: its own targets
    np.testing.assert_allclose(gram(aimed[0])[k], g)


def test_a_level_curve_is_followed_within_a_db(small):
  rng = np.random.default_rng(0)
  y = rng.standard_normal(6 * SR).astype(np.float32)
  level = curves.Curve((0.0, 2.0, 4.0, 6.0), (0.0, -12.0, 6.0, 6.0), "level")
  shaped = curves.shape(y, sample_rate=SR, level_db=level)
  half = SR // 2
  for i in range(0, y.size - half, half):
    rms = lambda x, i=i: np.sqrt(np.mean(np.square(x[i:i + half], dtype=np.float64)))  # noqa: E731
    measured = 20 * np.log10(rms(shaped) / rms(y))
    expected = 20 * np.log10(np.mean(10 ** (level.at((i + np.arange(half)) / SR) / 20)))
    assert abs(measured - expected) < 1.0, (i / SR, measured, expected)


def test_a_tilt_curve_is_followed_within_a_db_per_octave():
  rng = np.random.default_rng(1)
  y = rng.standard_normal(6 * SR).astype(np.float32)
  tilt = curves.Curve((0.0, 6.0), (-3.0, 3.0), "tilt")
  shaped = curves.shape(y, sample_rate=SR, tilt=tilt)
  centres, _ = metrics.erb_centres(n_bands=16, low_hz=100.0, high_hz=8000.0)
  bank = metrics.erb_filterbank(np.fft.rfftfreq(SR // 2, 1 / SR), n_bands=16, low_hz=100.0,
                                high_hz=8000.0) ** 2
  for i in range(SR, y.size - SR, SR // 2):
    band_db = lambda x, i=i: 10 * np.log10(  # noqa: E731
        bank @ np.abs(np.fft.rfft(x[i:i + SR // 2])) ** 2)
    slope = np.polyfit(np.log2(centres), band_db(shaped) - band_db(y), 1)[0]
    assert abs(slope - tilt.at((i + SR // 4) / SR)) < 1.0, (i / SR, slope)


def test_curves_refuse_what_they_cannot_follow(tmp_path):
  with pytest.raises(InputError, match="must increase"):
    curves.Curve((0.0, 2.0, 1.0), (0.0, 1.0, 0.5), "--level_db")
  with pytest.raises(InputError, match=r"in \[0, 1\]"):
    curves.morph(curves.Curve((0.0, 1.0), (0.0, 1.5), "--morph_curve"), 0.0, 2.0)
  path = tmp_path / "c.csv"
  path.write_text("seconds,db\n0,0\n2,-6\n")
  assert inputs.curve(str(path), name="--level_db").at(1.0) == pytest.approx(-3.0)
  path.write_text("0,0\n2\n")
  with pytest.raises(InputError, match="two numbers"):
    inputs.curve(str(path), name="--level_db")
  with pytest.raises(InputError, match="no such CSV"):
    inputs.curve(str(tmp_path / "missing.csv"), name="--level_db")


@pytest.mark.parametrize("args, message", [
    (["--style=A,B", "--weights=1"], "one weight per --style file"),
    (["--style=A,B", "--weights=0.5,-1"], "at least 0"),
    (["--style=A", "--morph_to=B", "--morph_curve=CSV_OUT"], "in [0, 1]"),
    (["--style=A", "--morph_to=B", "--morph_curve=CSV_BACK"], "must increase"),
    (["--style=A", "--morph_to=B", "--loop"], "--loop makes a seamless loop"),
    (["--style=A", "--morph_curve=smooth"], "give --morph_to"),
    (["--style=A", "--level_db=CSV_BACK"], "must increase"),
    (["--style=A", "--morph_to=B", "--batch=2"], "one texture at a time"),
])
def test_bad_variations_are_one_error_line(tmp_path, args, message):
  a = _wav(tmp_path / "a.wav", examples.tones(duration_s=1.0, seed=1))
  b = _wav(tmp_path / "b.wav", examples.birds_and_rain(duration_s=1.0, seed=2))
  (tmp_path / "out.csv").write_text("0,0\n1,1.5\n")
  (tmp_path / "back.csv").write_text("0,0\n2,1\n1,0.5\n")
  subs = {"CSV_OUT": str(tmp_path / "out.csv"), "CSV_BACK": str(tmp_path / "back.csv"),
          "A": a, "B": b}
  args = [flag + "=" + ",".join(subs.get(v, v) for v in value.split(","))
          for flag, _, value in (arg.partition("=") for arg in args)]
  args = [arg.rstrip("=") for arg in args]
  p = _script("texture.py", f"--output_dir={tmp_path / 'o'}", *TINY, *args)
  errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
  assert p.returncode == 1 and len(errors) == 1 and message in errors[0], p.stderr[-1500:]
  assert "iteration" not in p.stderr and not (tmp_path / "o").exists()


def test_a_morph_of_style_transfer_is_refused(small, tmp_path):
  a = _wav(tmp_path / "a.wav", examples.tones(duration_s=1.0, seed=1))
  with pytest.raises(InputError, match="style transfer follows"):
    pipeline.run(small, style_paths=[a], content_path=a, output_dir=str(tmp_path / "o"),
                 variation=inputs.Variation(morph_to=(a,)))
