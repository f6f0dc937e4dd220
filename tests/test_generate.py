"""The generation function as other JAX code uses it: one pure program, under the user's own
`jit` and `vmap`, and a host driver that reads the device once per `log_every` iterations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstyle
from jaxstyle import batch
from jaxstyle import config
from jaxstyle import examples
from jaxstyle import optimize
from jaxstyle import synthesis

SR = 22050


@pytest.fixture
def small(tiny):
  """`tiny` with one stack of 16 channels and 12 iterations, the stall stop off."""
  tiny.net.stacks, tiny.net.channels, tiny.iterations, tiny.log_every = 1, 16, 12, 4
  tiny.style_layers = tiny.content_layers = "relu1"
  tiny.stall_iterations = 0
  return tiny


def test_jit_of_vmap_over_keys_and_styles_equals_each_texture_alone(small):
  clips = [examples.birds_and_rain(duration_s=0.5, seed=1), examples.tones(duration_s=0.5, seed=2)]
  spec = jaxstyle.spec(small, n_samples=clips[0].size)
  targets = [jax.jit(jaxstyle.analyze)(spec, [y]) for y in clips]
  keys = jax.random.split(jax.random.key(7), 4)

  # 4 keys x 2 styles in one program of the user's: vmap over styles outside, keys inside.
  over_keys = jax.vmap(jaxstyle.generate, in_axes=(None, None, 0))
  both = jax.jit(jax.vmap(over_keys, in_axes=(None, 0, None)))
  out = both(spec, batch.stack(targets), keys)
  assert out.audio.shape == (2, 4, clips[0].size)
  assert out.spectrogram.shape == (2, 4, spec.n_frames, spec.representation.n_bins)

  alone = jax.jit(jaxstyle.generate)
  for s in range(2):
    for k in range(4):
      one = alone(spec, targets[s], keys[k])
      scale = float(jnp.abs(one.audio).max())
      np.testing.assert_allclose(out.audio[s, k], one.audio, atol=1e-2 * scale)
      np.testing.assert_allclose(out.history["total"][s, k], one.history["total"], rtol=2e-3)
      assert int(out.iteration[s, k]) == small.iterations
  flat = np.asarray(out.audio).reshape(8, -1)
  for i in range(8):
    for j in range(i):
      assert np.corrcoef(flat[i], flat[j])[0, 1] < 0.9  # all eight differ
  # Lower than at the start: each is a texture of its style.
  assert np.all(out.history["total"][..., -1] < 0.5 * out.history["total"][..., 0])


def test_generate_equals_the_driver_and_is_deterministic(small, texture_clip):
  spec = jaxstyle.spec(small, n_samples=SR // 2)
  style = jaxstyle.spectrogram(texture_clip, small)
  targets = batch.targets(spec, [style])
  g = jax.jit(jaxstyle.generate)
  a, b = g(spec, targets, jax.random.key(3)), g(spec, targets, jax.random.key(3))
  np.testing.assert_array_equal(a.audio, b.audio)
  (driven,) = batch.synthesize([batch.Job(spec, [style], seed=3)])
  np.testing.assert_allclose(driven.history["total"], np.asarray(a.history["total"]), rtol=1e-4)
  np.testing.assert_allclose(driven.audio, a.audio, atol=1e-3 * float(jnp.abs(a.audio).max()))


@pytest.mark.parametrize("refine_iterations", [0, 6])
def test_a_whole_synthesis_reads_the_device_once_per_log_every_iterations(
    small, texture_clip, monkeypatch, capsys, refine_iterations):
  """Per chunk of `log_every` iterations of each stage one read, with its progress line
  (the waveform stage's, with `refine_iterations`, shows its jobs' losses)."""
  small.refine_iterations = refine_iterations
  spec = jaxstyle.spec(small, n_samples=SR // 2)
  jobs = [batch.Job(spec, [jaxstyle.spectrogram(texture_clip, small)], seed=s) for s in (0, 1)]
  batch.synthesize(jobs)  # compiled, and the targets' program too
  reads = []
  real = jax.device_get
  monkeypatch.setattr(batch.jax, "device_get", lambda x: reads.append(1) or real(x))
  capsys.readouterr()
  # Any implicit transfer (float(x), np.asarray(x) of a device array) raises here.
  with jax.transfer_guard_device_to_host("disallow"):
    results = batch.synthesize(jobs)
  chunks = -(-small.iterations // small.log_every) - (-refine_iterations // small.log_every)
  assert len(reads) == chunks + 1  # one summary per chunk, then the results
  assert all(len(r.history["total"]) == small.iterations + 1 for r in results)
  lines = [line for line in capsys.readouterr().err.splitlines() if "waveform stage, " in line]
  assert len(lines) == -(-refine_iterations // small.log_every)
  if refine_iterations:
    losses = sorted(r.refine_history["total"][small.log_every] for r in results)
    assert lines[0].startswith(f"waveform stage, iteration {small.log_every}/6: loss "
                               f"{losses[0]:.4g}..{losses[1]:.4g}, "), lines[0]


def test_a_pure_generation_makes_no_host_transfer(small, texture_clip):
  spec = jaxstyle.spec(small, n_samples=SR // 2)
  targets = batch.targets(spec, [jaxstyle.spectrogram(texture_clip, small)])
  key = jax.random.key(0)
  g = jax.jit(jaxstyle.generate).lower(spec, targets, key).compile()
  with jax.transfer_guard("disallow"):  # no transfer either way, implicit or explicit
    out = g(spec, targets, key)
  assert np.isfinite(np.asarray(out.audio)).all()


def test_specs_are_hashable_and_refuse_bad_values_by_config_key(small):
  spec = jaxstyle.spec(small, n_samples=SR // 2)
  assert hash(spec) == hash(jaxstyle.spec(small, n_samples=SR // 2))
  assert spec != jaxstyle.spec(small, n_samples=SR // 4)
  with pytest.raises(jaxstyle.InputError, match="config.iterations must be positive"):
    optimize.LBFGS(iterations=0)
  with pytest.raises(jaxstyle.InputError, match="config.net.stacks"):
    config.net_spec(small).__class__(stacks=0)
  with pytest.raises(jaxstyle.InputError, match="needs 2 stacks"):
    small.style_layers = "relu2"
    jaxstyle.spec(small, n_samples=SR // 2)
  assert isinstance(spec, synthesis.Spec)
