"""Network shapes, named taps, PyTorch-style init and the conv against numpy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstyle import nets

T, F = 37, 33  # frames, bins


@pytest.mark.parametrize("pooling", nets.POOLINGS)
@pytest.mark.parametrize("orientation", nets.ORIENTATIONS)
def test_shapes_of_every_tap(orientation, pooling):
  net = nets.StackedConv(orientation=orientation, channels=(8, 6, 4), kernel_size=3,
                         pooling=pooling)
  x = nets.net_input(jnp.ones((2, T, F)), orientation)
  variables = nets.init(net, 0, x.shape)
  feats = jax.jit(net.apply)(variables, x)
  spatial = {"freq": [(T,)], "time": [(F,)], "2d": [(T, F)]}[orientation][0]
  assert x.shape[-1] == {"freq": F, "time": T, "2d": 1}[orientation]
  for i, ch in enumerate((8, 6, 4), start=1):
    for kind in ("conv", "bn", "relu"):
      assert feats[f"{kind}{i}"].shape == (2, *spatial, ch)
    spatial = tuple(s // 2 for s in spatial)  # pool 2, stride 2, floor
    assert feats[f"pool{i}"].shape == (2, *spatial, ch)


def test_until_stops_after_the_stack():
  net = nets.StackedConv(channels=(4, 4, 4), kernel_size=3)
  x = jnp.ones((1, T, F))
  v = nets.init(net, 0, x.shape)
  assert sorted(net.apply(v, x, until="relu2")) == sorted(
      f"{k}{i}" for i in (1, 2) for k in nets.TAP_KINDS)
  with pytest.raises(ValueError, match="unknown tap"):
    net.apply(v, x, until="relu4")


def test_init_is_pytorch_uniform_and_seeded():
  net = nets.StackedConv(channels=(64, 64), kernel_size=5)
  v = nets.init(net, 3, (1, 8, F))
  for name, fan_in in (("conv1", 5 * F), ("conv2", 5 * 64)):
    bound = 1 / np.sqrt(fan_in)
    for leaf in (v["params"][name]["kernel"], v["params"][name]["bias"]):
      assert np.abs(leaf).max() <= bound
    w = np.asarray(v["params"][name]["kernel"])
    assert np.abs(w).max() > 0.99 * bound  # uniform fills the interval
    np.testing.assert_allclose(w.std(), bound / np.sqrt(3), rtol=0.05)
  same = nets.init(net, 3, (1, 8, F))
  other = nets.init(net, 4, (1, 8, F))
  np.testing.assert_array_equal(v["params"]["conv1"]["kernel"], same["params"]["conv1"]["kernel"])
  assert not np.allclose(v["params"]["conv1"]["kernel"], other["params"]["conv1"]["kernel"])


def test_first_stack_matches_numpy():
  """conv ('same', odd kernel: zero padding k // 2 as PyTorch) -> BN (eval) -> ReLU -> max pool."""
  k, ch = 5, 7
  net = nets.StackedConv(channels=(ch,), kernel_size=k)
  x = np.random.default_rng(0).standard_normal((1, T, F)).astype(np.float32)
  v = nets.init(net, 0, x.shape)
  w, b = (np.asarray(v["params"]["conv1"][n]) for n in ("kernel", "bias"))
  xp = np.pad(x[0], ((k // 2, k // 2), (0, 0)))
  conv = np.stack([np.einsum("kc,kco->o", xp[t:t + k], w) for t in range(T)]) + b
  relu = np.maximum(conv / np.sqrt(1 + 1e-5), 0)  # running mean 0, var 1, eps 1e-5
  pool = relu[: T // 2 * 2].reshape(T // 2, 2, ch).max(axis=1)
  feats = net.apply(v, jnp.asarray(x))
  np.testing.assert_allclose(feats["conv1"][0], conv, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(feats["relu1"][0], relu, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(feats["pool1"][0], pool, rtol=1e-5, atol=1e-5)
  avg = nets.StackedConv(channels=(ch,), kernel_size=k, pooling="avg").apply(v, jnp.asarray(x))
  np.testing.assert_allclose(avg["pool1"][0], relu[: T // 2 * 2].reshape(T // 2, 2, ch).mean(1),
                             rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bad", ["relu", "foo1", "relu0", "x2"])
def test_bad_tap_names(bad):
  with pytest.raises(ValueError, match="bad layer name"):
    nets.tap_depth(bad)


@pytest.mark.parametrize("k,t", [(5, 37), (4, 37), (11, 3), (11, 100), (2, 1)])
def test_fft_conv_equals_im2col_with_its_gradient(k, t):
  """Overlap-save FFT (odd and even kernels, inputs shorter and longer than a block,
  a leading batch axis) against the im2col matrix product, values and input gradient."""
  net = nets.StackedConv(channels=(6, 5), kernel_size=k)
  x = jnp.asarray(np.random.default_rng(k).standard_normal((2, t, F)), jnp.float32)
  v = nets.init(net, 0, x.shape)
  vf = nets.with_spectral_kernels(v, 2)
  assert sorted(vf["spectral"]) == ["conv1", "conv2"]
  block = nets.fft_block(k)
  assert vf["spectral"]["conv2"]["kernel"].shape == (block // 2 + 1, 6, 5)
  zeroed = {**vf, "spectral": jax.tree.map(jnp.zeros_like, vf["spectral"])}
  np.testing.assert_array_equal(net.apply(zeroed, x)["conv1"][0, 0],
                                v["params"]["conv1"]["bias"])  # the FFT path ran

  def loss(x, v):
    f = net.apply(v, x)
    return jnp.sum(f["conv1"] ** 2) + jnp.sum(jnp.sin(f["conv2"]))

  for tap in ("conv1", "conv2"):
    np.testing.assert_allclose(net.apply(vf, x)[tap], net.apply(v, x)[tap], rtol=1e-4, atol=1e-5)
  g, gf = (jax.grad(loss)(x, vv) for vv in (v, vf))
  np.testing.assert_allclose(gf, g, rtol=1e-4, atol=1e-4 * float(jnp.abs(g).max()))


def test_spectral_kernels_only_where_they_apply():
  """Stacks deeper than `depth`, width-1 kernels and 2D convs keep the matrix product."""
  x = (1, T, F)
  v = nets.init(nets.StackedConv(channels=(4, 4, 4), kernel_size=3), 0, x)
  assert sorted(nets.with_spectral_kernels(v, 2)["spectral"]) == ["conv1", "conv2"]
  v1 = nets.init(nets.StackedConv(channels=(4,), kernel_size=1), 0, x)
  assert nets.with_spectral_kernels(v1, 1)["spectral"] == {}
  v2d = nets.init(nets.StackedConv(orientation="2d", channels=(4,), kernel_size=3), 0, (1, T, F, 1))
  assert nets.with_spectral_kernels(v2d, 1)["spectral"] == {}



def test_multi_width_conv_is_its_branches_side_by_side():
  net = nets.StackedConv(orientation="freq", channels=(7,), kernel_sizes=(1, 3, 5))
  x = jnp.asarray(np.random.default_rng(0).standard_normal((1, 12, 4)), jnp.float32)
  variables = nets.init(net, 0, x.shape)
  conv = variables["params"]["conv1"]
  assert [conv[k]["kernel"].shape for k in ("k1", "k3", "k5")] == [(1, 4, 3), (3, 4, 2),
                                                                     (5, 4, 2)]
  got = net.apply(variables, x, until="conv1")["conv1"]
  for k, (lo, hi) in {"k1": (0, 3), "k3": (3, 5), "k5": (5, 7)}.items():
    w = conv[k]["kernel"]
    pad = (w.shape[0] - 1) // 2
    want = jax.lax.conv_general_dilated(x, w, (1,), [(pad, pad)],
                                        dimension_numbers=("NWC", "WIO", "NWC")) + conv[k]["bias"]
    np.testing.assert_allclose(got[..., lo:hi], want, rtol=1e-5, atol=1e-5)


def test_the_accelerator_form_of_the_fft_products_equals_the_complex_one():
  """`fft_conv` runs its per-bin product as four real ones off CPU; the suite runs on
  CPU, so compare that form with the complex product directly."""
  k = jax.random.split(jax.random.key(0), 4)
  xf = jax.lax.complex(*(jax.random.normal(i, (2, 3, 5, 4)) for i in k[:2]))
  s = jax.lax.complex(*(jax.random.normal(i, (5, 4, 6)) for i in k[2:]))
  want = np.einsum("...nbc,bcf->...nbf", np.asarray(xf), np.asarray(s))
  np.testing.assert_allclose(nets._as_real_products(xf, s), want, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(nets._per_bin_product(xf, s), want, rtol=1e-5, atol=1e-5)
