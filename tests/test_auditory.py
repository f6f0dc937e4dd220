"""The auditory statistics against direct numpy / scipy computations; gradients against
finite differences; L-BFGS on the loss brings a texture's statistics to its target's."""

import dataclasses

import jax
from jax import test_util as jtu
import jax.numpy as jnp
import librosa
import numpy as np
import pytest
import scipy.signal
import scipy.stats

import jaxstyle
from jaxstyle import auditory
from jaxstyle import batch
from jaxstyle import blocks
from jaxstyle import config
from jaxstyle import examples
from jaxstyle import inputs
from jaxstyle import metrics
from jaxstyle import objective
from jaxstyle import optimize
from jaxstyle import synthesis

SR = 8000
RNG = np.random.default_rng(0)


def crackle(n: int, seed: int) -> np.ndarray:
  """Sparse clicks over quiet noise: an impulsive texture, `[n]`."""
  rng = np.random.default_rng(seed)
  y = 0.05 * rng.standard_normal(n)
  y[rng.choice(n, n // 400, replace=False)] += rng.choice([-1.0, 1.0], n // 400)
  return y.astype(np.float32)


def fading_bursts(n: int, seed: int, count: int) -> np.ndarray:
  """`count` bursts of Gaussian noise, each with a sharp onset and a 20 ms exponential
  decay (on a ring), `[n]`: a sound that rises faster than it falls."""
  rng = np.random.default_rng(seed)
  since = (np.arange(n)[None] - rng.choice(n, count, replace=False)[:, None]) % n
  return (np.exp(-since / (0.02 * SR)).sum(0) * rng.standard_normal(n)).astype(np.float32)


def reference_envelopes(x: np.ndarray, a: auditory.Auditory) -> np.ndarray:
  """`[bands, envelope_samples]` by scipy: each band filtered by FFT, `hilbert`, the
  compressed magnitude low-passed below the envelope rate's Nyquist frequency and
  decimated (FFT bins `< envelope_samples / 2`)."""
  spectrum = np.fft.rfft(x.astype(np.float64))
  out = []
  for gain in auditory.band_gains(a):
    band = np.fft.irfft(spectrum * gain, n=x.size)
    env = np.abs(scipy.signal.hilbert(band)) ** auditory.COMPRESSION
    m = a.envelope_samples
    out.append(np.fft.irfft(np.fft.rfft(env)[: m // 2], n=m) * m / x.size)
  return np.stack(out)


def reference_peaks(x: np.ndarray, a: auditory.Auditory) -> np.ndarray:
  """`[bands]` by scipy and numpy: `log E[p^2] / E[s^2]` of each band's `|hilbert|^2` at
  the full rate, `s` its rfft bins below `auditory.PEAK_LEVEL_HZ` alone."""
  spectrum = np.fft.rfft(x.astype(np.float64))
  below = np.fft.rfftfreq(x.size, 1.0 / a.sample_rate) < auditory.PEAK_LEVEL_HZ
  out = []
  for gain in auditory.band_gains(a):
    p = np.abs(scipy.signal.hilbert(np.fft.irfft(spectrum * gain, n=x.size))) ** 2
    s = np.fft.irfft(np.fft.rfft(p) * below, n=x.size)
    out.append(np.log(np.mean(p**2) / np.mean(s**2)))
  return np.array(out)


def test_envelopes_match_scipy_hilbert():
  a = auditory.Auditory(SR, 8000, bands=8)
  x = crackle(8000, 1)
  got = jax.jit(auditory.envelopes, static_argnums=1)(x, a)
  want = reference_envelopes(x, a)
  # The power floor (-80 dB of each band's mean) is far below anything but the zeros.
  np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3 * want.max())


def test_envelope_of_an_am_tone_is_its_modulator():
  a = auditory.Auditory(SR, 16000, bands=16)
  t = np.arange(16000) / SR
  gains = auditory.band_gains(a)
  k = 9
  centre = np.fft.rfftfreq(16000, 1 / SR)[np.argmax(gains[k])]
  modulator = 1 + 0.5 * np.cos(2 * np.pi * 4 * t)  # 4 Hz: the band's gain is ~1 there
  env = np.asarray(auditory.envelopes(jnp.asarray(modulator * np.cos(2 * np.pi * centre * t),
                                                  jnp.float32), a))[k]
  want = scipy.signal.resample(modulator**auditory.COMPRESSION, a.envelope_samples)  # smooth
  np.testing.assert_allclose(env, want, rtol=1e-2)


def test_statistics_match_a_direct_computation():
  a = auditory.Auditory(SR, 8000, bands=6)
  x = crackle(8000, 2)
  s = jax.jit(auditory.statistics, static_argnums=1)(x, a)
  env = reference_envelopes(x, a)
  np.testing.assert_allclose(s["moments"][0], env.mean(1), rtol=2e-3)
  np.testing.assert_allclose(s["moments"][1], env.var(1) / env.mean(1) ** 2, rtol=2e-2)
  np.testing.assert_allclose(s["moments"][2], scipy.stats.skew(env, axis=1), rtol=2e-2, atol=1e-2)
  np.testing.assert_allclose(s["moments"][3], scipy.stats.kurtosis(env, axis=1, fisher=False),
                             rtol=2e-2)
  np.testing.assert_allclose(s["peaks"], reference_peaks(x, a), rtol=1e-3)
  np.testing.assert_allclose(s["correlation"], np.corrcoef(env), atol=1e-2)
  for k, lag in enumerate(auditory.ASYMMETRY_LAGS):  # each envelope's change over a lag
    change = np.roll(env, -lag, axis=1) - env
    np.testing.assert_allclose(s["asymmetry"][k], scipy.stats.skew(change, axis=1), rtol=2e-2,
                               atol=2e-2)
  # Modulation power: each octave band's share of the variance, by an FFT of its own.
  m = env.shape[1]
  hz = np.fft.fftfreq(m, 1 / a.envelope_rate_hz)
  power = np.abs(np.fft.fft(env - env.mean(1, keepdims=True), axis=1)) ** 2
  for k in range(a.n_modulation):
    lo = auditory.LOWEST_MODULATION_HZ * 2**k
    share = power[:, (np.abs(hz) >= lo) & (np.abs(hz) < 2 * lo)].sum(1) / power.sum(1)
    np.testing.assert_allclose(s["modulation"][k], share, rtol=2e-2, atol=1e-4)
    # C1: correlations of the band-passed envelopes (an ideal octave filter by FFT).
    passed = np.real(np.fft.ifft(np.fft.fft(env, axis=1) * ((np.abs(hz) >= lo)
                                                            & (np.abs(hz) < 2 * lo)), axis=1))
    if np.all(passed.std(1) > 0):
      np.testing.assert_allclose(s["c1"][k], np.corrcoef(passed), atol=2e-2)
  assert np.all(np.abs(s["c2"]) <= 1 + 1e-5)
  # The long-term spectrum: the time average of the log of the mean power of librosa's
  # STFT bins in 1/6 octaves from 20 Hz (and below it); a band without a bin takes the
  # bin nearest its centre.
  n_fft = a.fine_fft
  power = np.abs(librosa.stft(x.astype(np.float64), n_fft=n_fft, hop_length=n_fft // 4,
                              pad_mode="constant")) ** 2
  hz = np.fft.rfftfreq(n_fft, 1 / SR)
  edges = [0.0, *(20 * 2 ** (np.arange(0, 100) / 6))]
  inside = [(lo <= hz) & (hz < hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)
            if lo < SR / 2]
  nearest = lambda lo, hi: np.abs(hz - np.sqrt(lo * hi)).argmin()  # noqa: E731
  bands = [power[m].mean(axis=0) if m.any() else power[nearest(lo, hi)]
           for m, lo, hi in zip(inside, edges[:len(inside)], edges[1:len(inside) + 1],
                                strict=True)]
  floor = 1e-6 * np.mean(bands)
  np.testing.assert_allclose(s["spectrum"], [np.log(b + floor).mean() for b in bands],
                             rtol=1e-3, atol=1e-3)
  # The long-term power: the log of the same bands' mean power.
  np.testing.assert_allclose(s["power"], [np.log(b.mean() + floor) for b in bands],
                             rtol=1e-3, atol=1e-3)


def test_peaks_of_gaussian_noise_follow_their_closed_form_and_of_clicks_stand_higher():
  """A band of white Gaussian noise (variance 1, `n` samples) has a complex Gaussian
  analytic signal, so its power `p` is exponential: E[p^2] = 2 mu^2, mu = sum_f A_f / n,
  with A_f its one-sided power gains. The power's rfft bin nu > 0 has E|P_nu|^2 =
  sum_f A_f A_(f - nu) (bin 0: n^2 mu^2 + sum_f A_f^2), so the level `s` (the bins below
  `PEAK_LEVEL_HZ`) has E[s^2] = mu^2 + (sum_f A_f^2 + 2 sum_(0 < nu < K) sum_f A_f
  A_(f - nu)) / n^2: `peaks` is a little under log 2. Sparse clicks stand taller."""
  n = 2**16
  a = auditory.Auditory(SR, n, bands=8)
  gains = (auditory.band_gains(a) * auditory._one_sided(n)) ** 2  # A_f, [bands, n // 2 + 1]
  below = np.sum(np.fft.rfftfreq(n, 1.0 / SR) < auditory.PEAK_LEVEL_HZ)
  mu = gains.sum(axis=1) / n
  lags = [np.sum(gains[:, nu:] * gains[:, : gains.shape[1] - nu], axis=1) for nu in range(below)]
  expected = np.log(2 * mu**2 / (mu**2 + (lags[0] + 2 * np.sum(lags[1:], axis=0)) / n**2))
  assert np.all(expected < np.log(2.0)) and np.all(expected > np.log(2.0) - 0.3)
  noise = jnp.asarray(RNG.standard_normal(n), jnp.float32)
  peaks = np.asarray(auditory.statistics(noise, a)["peaks"])
  np.testing.assert_allclose(peaks, expected, atol=0.05)
  np.testing.assert_allclose(peaks.mean(), expected.mean(), atol=0.01)  # log 2 is 0.022 off
  clicks = np.asarray(auditory.statistics(jnp.asarray(crackle(n, 5)), a)["peaks"])
  assert np.all(clicks > peaks + 0.3) and clicks.mean() > peaks.mean() + 1.0


def test_crest_matches_numpy_and_the_gaussian_closed_form():
  """`crest` against numpy's sort; for Gaussian noise, the loudest share `p` of the samples
  lies above `c = Q^-1(p / 2)` and has mean square `1 + c phi(c) / Q(c)` (variance 1), so
  the group is its log. Sparse clicks stand higher."""
  clicks = crackle(8000, 2).astype(np.float64)
  power = np.sort(clicks**2)[::-1]
  counts = np.ceil(8000 / 2.0 ** np.arange(1, auditory.CREST_OCTAVES + 1)).astype(int)
  want = [np.log(power[:k].mean() / power.mean()) for k in counts]
  np.testing.assert_allclose(jax.jit(auditory.crest)(jnp.asarray(clicks, jnp.float32)), want,
                             rtol=1e-4)
  share = 2.0 ** -np.arange(1, auditory.CREST_OCTAVES + 1)
  c = scipy.stats.norm.isf(share / 2)
  closed = np.log(1 + c * scipy.stats.norm.pdf(c) / scipy.stats.norm.sf(c))
  got = np.mean([auditory.crest(jnp.asarray(np.random.default_rng(s).standard_normal(2**16)))
                 for s in range(16)], axis=0)
  # About 4 standard deviations of the mean of 16 (the deeper octaves hold fewer samples).
  np.testing.assert_allclose(got[:8], closed[:8], atol=0.015)
  np.testing.assert_allclose(got[8:], closed[8:], atol=0.07)
  assert np.all(np.asarray(want[4:]) > closed[4:] + 1.0)


def test_floor_matches_numpy_and_the_gaussian_closed_form():
  """`floor` against numpy; for Gaussian noise (variance 1), a frame's mean power `S` of `m`
  samples is Gamma(m / 2, 2 / m), and the quietest share `p` of the frames, below its
  quantile `q`, has mean power `int_0^q s f(s) ds / p = F_(m/2 + 1, 2/m)(q) / p`. Between
  clicks the quiet lies deeper."""
  a = auditory.Auditory(SR, 2**16, bands=8)
  m = a.floor_frame
  clicks = np.tile(crackle(2**14, 3), 4).astype(np.float64)
  power = np.sort((clicks.reshape(-1, m) ** 2).mean(1))
  counts = power.size // 2 ** np.arange(1, auditory.FLOOR_OCTAVES + 1)
  want = [np.log(power[:k].mean() / power.mean()) for k in counts]
  np.testing.assert_allclose(jax.jit(auditory.floor, static_argnums=1)(
      jnp.asarray(clicks, jnp.float32), a), want, rtol=1e-4)
  share = 2.0 ** -np.arange(1, auditory.FLOOR_OCTAVES + 1)
  q = scipy.stats.gamma.ppf(share, m / 2, scale=2 / m)
  closed = np.log(scipy.stats.gamma.cdf(q, m / 2 + 1, scale=2 / m) / share)
  got = np.mean([auditory.floor(jnp.asarray(np.random.default_rng(s).standard_normal(2**16)), a)
                 for s in range(4)], axis=0)
  np.testing.assert_allclose(got, closed, atol=0.03)  # the deepest octave: 32 frames
  assert np.all(np.asarray(want) < closed - 0.5)


def test_asymmetry_changes_sign_backwards_and_is_positive_where_sounds_fade():
  """Reversed (as a ring, `x[-t mod n]`), a waveform's envelopes run backwards: each change
  over a lag changes sign, and so does the group. Bursts of noise with a sharp onset and
  an exponential decay (20 ms) rise faster than they fall: above 0 at every lag in every
  band. Gaussian noise runs alike both ways: near 0."""
  n = 2**15
  a = auditory.Auditory(SR, n, bands=8)
  bursts = fading_bursts(n, 1, 40)
  group = lambda x: np.asarray(auditory.statistics(jnp.asarray(x), a)["asymmetry"])  # noqa: E731
  forward = group(bursts)
  assert forward.shape == (len(auditory.ASYMMETRY_LAGS), 8) and np.all(forward > 0.15)
  np.testing.assert_allclose(group(np.roll(bursts[::-1], 1)), -forward, atol=1e-4)
  noise = group(RNG.standard_normal(n).astype(np.float32))
  assert np.abs(noise).mean() < 0.08 and np.abs(noise).max() < 0.3


@pytest.mark.parametrize("group", ["crest", "floor"])
def test_crest_and_floor_gradients_match_finite_differences(group):
  with jax.enable_x64(True):
    a = auditory.Auditory(SR, 512, bands=4)
    fun = auditory.crest if group == "crest" else lambda x: auditory.floor(x, a)
    x = jnp.asarray(crackle(512, 9), jnp.float64)
    jtu.check_grads(fun, (x,), order=1, modes=["rev"], atol=1e-4, rtol=1e-4, eps=1e-6)


@pytest.mark.parametrize("upper_hz, locked", [(6.0, True), (6.7, False)])
def test_c2_is_large_only_for_phase_locked_octaves(upper_hz, locked):
  """A modulator whose 6 Hz component is phase-locked to its 3 Hz one gives |C2| near 1
  for octaves [2, 4) and [4, 8) Hz (M&S 2011: the phase-doubled lower band predicts the
  upper); at 6.7 Hz, drifting against 2 x 3 Hz, it is small."""
  a = auditory.Auditory(SR, 32000, bands=8)
  t = np.arange(32000) / SR
  # Shallow, so that compression adds little 6 Hz of its own.
  modulator = 1 + 0.2 * np.cos(2 * np.pi * 3.0 * t) + 0.2 * np.cos(2 * np.pi * upper_hz * t)
  carrier = np.random.default_rng(5).standard_normal(32000)
  s = auditory.statistics(jnp.asarray(modulator * carrier, jnp.float32), a)
  # Octaves 2 and 3 from 0.5 Hz, in the upper four bands (wide: little modulation of the
  # noise carrier's own).
  size = np.hypot(s["c2"][0, 2], s["c2"][1, 2])[4:].mean()
  assert size > 0.75 if locked else size < 0.35


def test_equalize_gives_the_target_spectrum():
  """A crackle equalised to a noise's long-term spectrum has it, up to the interpolation
  of the gains within each band."""
  a = auditory.Auditory(SR, 16000, bands=8)
  target = auditory.fine_levels(jnp.asarray(np.convolve(RNG.standard_normal(16000), [1, 0.9],
                                                        "same"), jnp.float32), a)
  x = jnp.asarray(np.tile(crackle(8000, 7), 2))
  before = auditory.fine_levels(x, a)
  after = auditory.fine_levels(jax.jit(auditory.equalize, static_argnums=2)(x, target, a), a)
  assert np.abs(after - target).max() < 0.1 * np.abs(before - target).max()
  assert np.abs(after - target).mean() < 0.1  # nepers of power: 0.4 dB


def test_loss_gradient_matches_finite_differences():
  with jax.enable_x64(True):
    a = auditory.Auditory(SR, 2048, bands=5)
    target = auditory.statistics(jnp.asarray(crackle(2048, 3), jnp.float64), a)
    x = jnp.asarray(RNG.standard_normal(2048))
    jtu.check_grads(lambda x: auditory.loss(x, target, a), (x,), order=1, modes=["rev"],
                    atol=1e-3, rtol=1e-3, eps=1e-5)


def test_lbfgs_brings_each_group_towards_its_target():
  """From white noise, L-BFGS on the loss moves every group of statistics towards those of
  a crackle over fading bursts (the impulsiveness first of all)."""
  a = auditory.Auditory(SR, 8000, bands=8)
  style = crackle(8000, 4) + 0.3 * fading_bursts(8000, 4, 10)
  target = auditory.target([jnp.asarray(style)], sample_rate=SR, bands=8)
  x0 = jnp.asarray(0.1 * RNG.standard_normal(8000), jnp.float32)
  fun = lambda x: (auditory.loss(x, target, a), {})  # noqa: E731
  state = optimize.minimize(fun, x0, settings=optimize.LBFGS(iterations=60, stall_iterations=0))
  errors = lambda x: {g: float(jnp.sum((s - target[g]) ** 2))  # noqa: E731
                      for g, s in auditory.statistics(x, a).items()}
  before, after = errors(x0), errors(state.best_x)
  assert all(after[g] < 0.5 * before[g] for g in auditory.GROUPS), (before, after)


def test_wrong_length_is_refused():
  with pytest.raises(ValueError, match="shape"):
    auditory.envelopes(jnp.zeros(100), auditory.Auditory(SR, 200))


@pytest.fixture
def refined(tiny):
  """`tiny` (one stack of 16, 10 iterations, no stall stop) refined on the waveform."""
  tiny.net.stacks, tiny.net.channels, tiny.iterations = 1, 16, 10
  tiny.style_layers = tiny.content_layers = "relu1"
  tiny.stall_iterations, tiny.parametrization, tiny.noise_init = 0, "log", "spectrum"
  tiny.spectrum_weight, tiny.band_spectrum_weight, tiny.bands = 100.0, 1000.0, 16
  tiny.refine_iterations, tiny.auditory_weight = 15, 30.0
  return tiny


def test_refinement_brings_the_waveform_statistics_towards_the_style(refined):
  """The same texture with and without the waveform stage: the refined audio's auditory
  statistics are nearer the style's, the stage's loss falls, and the spectrogram stage
  is the same; with `configs/texture.py`'s filter of the change (the other tests of the
  stage run without it)."""
  refined.refine_precondition = 0.5
  style = crackle(11025, 6) + 0.3 * np.sin(np.arange(11025) * 0.3).astype(np.float32)
  spec = jaxstyle.spec(refined, n_samples=11025)
  plain = dataclasses.replace(spec, refine_iterations=0,
                              objective=dataclasses.replace(spec.objective, weights=tuple(
                                  (k, 0.0 if k == "auditory" else w)
                                  for k, w in spec.objective.weights)))
  key = jax.random.key(1)
  targets = jax.jit(jaxstyle.analyze)(spec, [style])
  with_stage = jax.jit(jaxstyle.generate)(spec, targets, key)
  without = jax.jit(jaxstyle.generate)(plain, targets, key)
  np.testing.assert_allclose(with_stage.history["total"], without.history["total"], rtol=1e-5)
  a = objective.auditory_settings(spec.objective, 11025)
  error = lambda y: float(auditory.loss(y, targets.auditory, a))  # noqa: E731
  assert error(with_stage.audio) < 0.7 * error(without.audio)
  # The loudest samples move too (the change's filter, `synthesis.preconditioner`).
  crest = lambda y: float(jnp.mean((auditory.crest(y) - targets.auditory["crest"]) ** 2))  # noqa: E731
  assert crest(with_stage.audio) < 0.5 * crest(without.audio)
  h = with_stage.refine_history
  assert int(with_stage.refine_iteration) == 15 and h["total"][15] < h["total"][0]
  assert np.isfinite(h["auditory"][:16]).all()
  # The host driver records the stage too.
  (result,) = batch.synthesize([batch.Job(spec, [jaxstyle.spectrogram(style, refined)],
                                          seed=1, waves=[style])])
  assert len(result.refine_history["total"]) == 16


@pytest.mark.parametrize("power", [0.5, 1.0])
def test_the_preconditioner_is_the_starts_amplitude_spectrum(refined, power):
  """Against librosa: the mean power of the STFT frames, interpolated over the rfft
  bins, to the power `power / 2`, at unit RMS; and `shaped` is that filter."""
  refined.refine_precondition = power
  spec = jaxstyle.spec(refined, n_samples=4096)
  y = crackle(4096, 3) + np.sin(np.arange(4096) * 0.2).astype(np.float32)
  frames = np.abs(librosa.stft(y.astype(np.float64), n_fft=refined.n_fft,
                               hop_length=refined.hop_length, pad_mode="constant")) ** 2
  p = np.interp(np.fft.rfftfreq(4096), np.fft.rfftfreq(refined.n_fft), frames.mean(axis=1))
  want = (p + 1e-12 * p.max()) ** (power / 2)
  want /= np.sqrt(np.mean(want**2))
  shape = synthesis.preconditioner(spec, jnp.asarray(y))
  np.testing.assert_allclose(shape, want, rtol=2e-3)
  np.testing.assert_allclose(synthesis.shaped(jnp.asarray(y), shape),
                             np.fft.irfft(np.fft.rfft(y) * want, n=4096), atol=2e-4)
  refined.refine_precondition = 0.0
  assert synthesis.preconditioner(jaxstyle.spec(refined, n_samples=4096), jnp.asarray(y)) is None
  refined.refine_precondition = -1.0
  with pytest.raises(jaxstyle.InputError, match="refine_precondition"):
    jaxstyle.spec(refined, n_samples=4096)


def test_the_waveform_terms_are_refused_where_there_is_no_waveform(refined):
  refined.refine_iterations = 0
  with pytest.raises(jaxstyle.InputError, match="auditory_weight.*refine_iterations"):
    config.check(refined)
  refined.refine_iterations, refined.spectrogram = 5, "cqt_map"
  refined.band_spectrum_weight, refined.noise_init = 0.0, "uniform"
  with pytest.raises(jaxstyle.InputError, match="refine_iterations.*spectrogram=stft"):
    config.check(refined)
  refined.spectrogram = "stft"
  spec = jaxstyle.spec(refined, n_samples=4096)
  with pytest.raises(jaxstyle.InputError, match="style waveforms"):
    batch.targets(spec, [np.zeros((20, 129), np.float32)])


def test_a_refined_texture_has_no_more_dips_than_its_style(refined):
  """Broadband dropouts (`metrics.dropouts`: 32 ms frames 10 dB below the surrounding
  second) are no more common in a texture than in its style."""
  style = examples.birds_and_rain(duration_s=4.0, sample_rate=22050, seed=3)
  out = jaxstyle.texture(style, refined, duration_s=4.0)
  dips = lambda y: metrics.dropouts(y, sample_rate=22050)  # noqa: E731
  assert dips(out)["share"] <= dips(style)["share"]
  assert dips(out)["deepest_db"] > dips(style)["deepest_db"] - 3.0


def test_auditory_targets_interpolate_linearly():
  """A morph or a mix moves the waveform's statistics linearly (`objective.interpolate`)."""
  a = auditory.Auditory(SR, 8000, bands=6)
  ta, tb = (auditory.statistics(jnp.asarray(crackle(8000, s)), a) for s in (8, 9))
  one = jnp.ones(3)
  mid = objective.interpolate(objective.Targets({}, one[0], one, auditory=ta),
                              objective.Targets({}, one[0], one, auditory=tb), 0.3)
  for g in auditory.GROUPS:
    np.testing.assert_allclose(mid.auditory[g], 0.7 * ta[g] + 0.3 * tb[g], rtol=1e-5, atol=1e-6)


def test_a_refined_texture_longer_than_a_block_is_refined_block_by_block(refined):
  """In blocks (`jaxstyle.blocks`), each block's audio is refined with the prefix it holds
  kept: the library call and the blocks give the same audio."""
  refined.block_s, refined.iterations, refined.refine_iterations = 2.5, 5, 4
  style = examples.birds_and_rain(duration_s=1.0, sample_rate=22050, seed=4)
  y = jaxstyle.texture(style, refined, duration_s=3.0, seed=2)
  p, block = config.in_blocks(refined, 3 * 22050)
  parts = list(blocks.synthesize(block, batch.targets(block, [jaxstyle.spectrogram(
      style, refined)], None, [style]), p, n_samples=3 * 22050, seed=2))
  assert len(parts) == p.n_blocks > 1
  assert all(len(b.result.refine_history["total"]) == 5 for b in parts)
  np.testing.assert_array_equal(y, np.concatenate([b.audio for b in parts]))
  assert np.isfinite(y).all() and y.size == 3 * 22050


def test_the_memory_bound_counts_the_waveform_stage():
  """`inputs.memory_bytes` of a synthesis with the waveform stage: at most the memory XLA
  plans for the whole program (arguments, outputs, temporaries), and within 3x of it (the
  spectrogram stage's bound alone was about 4x under)."""
  c = config.texture()
  y = examples.birds_and_rain(duration_s=1.0)
  spec = config.spec(c, n_samples=y.size)
  targets = jaxstyle.analyze(spec, [jnp.asarray(y)])
  planned = jax.jit(jaxstyle.generate, static_argnums=0).lower(
      spec, targets, jax.random.key(0)).compile().memory_analysis()
  planned = (planned.argument_size_in_bytes + planned.output_size_in_bytes
             + planned.temp_size_in_bytes)
  bound = inputs.memory_bytes(c, spec.n_frames, c.n_fft // 2 + 1, spec.n_samples)
  assert planned / 3 < bound <= planned
