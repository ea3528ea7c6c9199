"""engine.nn.SelfAttention: against torch.nn with copied weights (a module of four
nn.Linear around F.scaled_dot_product_attention, and nn.MultiheadAttention with one head), in
float64 and float32; finite differences; the default initialisation; bad input. Sequence models
built with it (embeddings, optimisers, train) are in test_sequence_nn.py. The torch comparisons
skip cleanly where torch is not installed."""

import numpy as np
import pytest

import engine
from engine import nn

TOL = {np.float64: dict(rtol=1e-10, atol=1e-11), np.float32: dict(rtol=2e-4, atol=2e-5)}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])


def _torch():
    return pytest.importorskip("torch")


def _torch_self_attention(layer: nn.SelfAttention):
    """Four torch.nn.Linear(E, E) named q, k, v, out around F.scaled_dot_product_attention, with
    the layer's weights: its state_dict keys are the engine's params keys."""
    torch = _torch()
    tnn = torch.nn

    class SelfAttention(tnn.Module):
        def __init__(self, e, causal):
            super().__init__()
            self.q, self.k, self.v, self.out = (tnn.Linear(e, e) for _ in range(4))
            self.causal = causal

        def forward(self, x):
            o = tnn.functional.scaled_dot_product_attention(
                self.q(x), self.k(x), self.v(x), is_causal=self.causal
            )
            return self.out(o)

    return SelfAttention(layer.embed_dim, layer.causal)


def _copy_into(tmodel, model, dtype):
    """tmodel, in dtype, holding model's weights (each 2-D weight transposed, except the
    embedding tables, which are (rows, dim) on both sides)."""
    torch = _torch()
    tmodel = tmodel.to({np.float64: torch.float64, np.float32: torch.float32}[dtype])
    with torch.no_grad():
        for name, p in tmodel.named_parameters():
            p.copy_(torch.from_numpy(_torch_layout(model, name, model.params[name])))
    return tmodel


def _is_table(model, name):
    layer = model.layers[int(name.split(".")[0])] if isinstance(model, nn.Sequential) else model
    return isinstance(layer, (nn.Embedding, nn.PositionalEmbedding))


def _torch_layout(model, name, a):
    return a.T.copy() if a.ndim == 2 and not _is_table(model, name) else a


def _torch_grads(model, tmodel):
    return {n: _torch_layout(model, n, p.grad.numpy()) for n, p in tmodel.named_parameters()}


def _check_grads(model, tgrads, tol, what):
    assert list(tgrads) == list(model.grads), what
    for n, g in model.grads.items():
        assert g.dtype == model.params[n].dtype, n
        np.testing.assert_allclose(g, tgrads[n], **tol, err_msg=f"{what}: grad {n}")


LAYER_CASES = [
    (2, 5, 4, False),
    (2, 5, 4, True),
    (3, 1, 6, True),
    (1, 7, 1, False),
    (4, 3, 8, True),
]


@DTYPES
@pytest.mark.parametrize("n,length,e,causal", LAYER_CASES, ids=str)
def test_self_attention_matches_four_torch_linears_around_sdpa(n, length, e, causal, dtype):
    torch = _torch()
    layer = nn.SelfAttention(e, causal, rng=np.random.default_rng(n + e), dtype=dtype)
    tlayer = _copy_into(_torch_self_attention(layer), layer, dtype)
    r = np.random.default_rng(length)
    x = r.standard_normal((n, length, e)).astype(dtype)
    dy = r.standard_normal((n, length, e)).astype(dtype)
    y = layer.forward(x)
    dx = layer.backward(dy)
    tx = torch.tensor(x, requires_grad=True)
    ty = tlayer(tx)
    ty.backward(torch.tensor(dy))
    tol, what = TOL[dtype], f"{layer!r} on {x.shape}"
    assert y.dtype == dtype and dx.dtype == dtype
    np.testing.assert_allclose(y, ty.detach().numpy(), **tol, err_msg=f"{what}: y")
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol, err_msg=f"{what}: dx")
    _check_grads(layer, _torch_grads(layer, tlayer), tol, what)


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_is_torchs_one_head_multihead_attention(causal):
    """nn.MultiheadAttention(E, 1, batch_first=True): in_proj_weight is [Wqᵀ; Wkᵀ; Wvᵀ]."""
    torch = _torch()
    e, length = 6, 5
    layer = nn.SelfAttention(e, causal, rng=4)
    mha = torch.nn.MultiheadAttention(e, 1, batch_first=True).double()
    w = layer.params
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.tensor(np.concatenate([w[f"{p}.weight"].T for p in "qkv"])))
        mha.in_proj_bias.copy_(torch.tensor(np.concatenate([w[f"{p}.bias"] for p in "qkv"])))
        mha.out_proj.weight.copy_(torch.tensor(w["out.weight"].T))
        mha.out_proj.bias.copy_(torch.tensor(w["out.bias"]))
    r = np.random.default_rng(9)
    x, dy = r.standard_normal((3, length, e)), r.standard_normal((3, length, e))
    tx = torch.tensor(x, requires_grad=True)
    mask = torch.ones(length, length, dtype=torch.bool).triu(1) if causal else None
    ty, _ = mha(tx, tx, tx, attn_mask=mask, need_weights=False)
    ty.backward(torch.tensor(dy))
    y, dx = layer.forward(x), layer.backward(dy)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    dw_in = np.concatenate([layer.grads[f"{p}.weight"].T for p in "qkv"])
    np.testing.assert_allclose(dw_in, mha.in_proj_weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    db_in = np.concatenate([layer.grads[f"{p}.bias"] for p in "qkv"])
    np.testing.assert_allclose(db_in, mha.in_proj_bias.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["out.weight"].T, mha.out_proj.weight.grad.numpy())


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_backward_matches_finite_differences(causal):
    layer = nn.SelfAttention(3, causal, rng=2)
    r = np.random.default_rng(5)
    x, dy = r.standard_normal((2, 4, 3)), r.standard_normal((2, 4, 3))
    layer.forward(x)
    dx = layer.backward(dy)
    analytic = {"x": dx, **{n: g.copy() for n, g in layer.grads.items()}}

    def forward(x, *params):
        for arr, new in zip(layer.params.values(), params, strict=True):
            arr[...] = new
        return layer.forward(x)

    res = engine.gradcheck(
        forward, {"x": x, **{n: p.copy() for n, p in layer.params.items()}}, analytic, dy=dy
    )
    assert res.ok, str(res)


def test_input_grad_false_sets_the_same_grads_and_returns_none():
    r = np.random.default_rng(0)
    x, dy = r.standard_normal((2, 3, 4)), r.standard_normal((2, 3, 4))
    a, b = nn.SelfAttention(4, rng=1), nn.SelfAttention(4, rng=1)
    a.forward(x), b.forward(x)
    assert a.backward(dy).shape == x.shape and b.backward(dy, input_grad=False) is None
    for n in a.grads:
        np.testing.assert_array_equal(a.grads[n], b.grads[n])
    kept = {n: g.copy() for n, g in a.grads.items()}
    a.forward(x), a.backward(dy)  # grads are set, not accumulated
    for n in kept:
        np.testing.assert_array_equal(a.grads[n], kept[n])


def test_attention_weights_are_the_last_forwards_rows_of_probabilities():
    layer = nn.SelfAttention(4, causal=True, rng=0)
    assert layer.attention_weights is None
    layer.forward(np.random.default_rng(1).standard_normal((2, 5, 4)))
    p = layer.attention_weights
    assert p.shape == (2, 5, 5)
    np.testing.assert_allclose(p.sum(axis=-1), 1)
    assert not p[:, np.triu_indices(5, 1)[0], np.triu_indices(5, 1)[1]].any()


# ---------------------------------------------------------------- initialisation


def test_init_draws_torchs_linear_bounds_in_key_order_from_the_generator():
    """By construction: the params are U(−1/√E, 1/√E) drawn in the order q.weight, q.bias, …,
    out.bias from the generator, as four torch.nn.Linear(E, E) are initialised."""
    e = 5
    layer = nn.SelfAttention(e, rng=np.random.default_rng(42))
    gen, bound = np.random.default_rng(42), 1 / np.sqrt(e)
    keys = ["q.weight", "q.bias", "k.weight", "k.bias", "v.weight", "v.bias"]
    assert list(layer.params) == [*keys, "out.weight", "out.bias"]
    for name, p in layer.params.items():
        np.testing.assert_array_equal(p, gen.uniform(-bound, bound, p.shape), err_msg=name)
    a, b = nn.SelfAttention(e, rng=7), nn.SelfAttention(e, rng=7)
    for n in a.params:
        np.testing.assert_array_equal(a.params[n], b.params[n])


def _ks(a, b):
    """The two-sample Kolmogorov–Smirnov statistic: the largest gap between two empirical CDFs."""
    a, b = np.sort(a.ravel()), np.sort(b.ravel())
    grid = np.concatenate([a, b])
    return np.abs(
        np.searchsorted(a, grid, "right") / a.size - np.searchsorted(b, grid, "right") / b.size
    ).max()


def test_init_is_distributed_as_four_torch_linears():
    """Statistically: each param against the same param of torch's four nn.Linear(E, E) by a
    two-sample KS test (critical value at α = 0.001 ≈ 1.95·√(2/n)), and within their bound."""
    torch = _torch()
    e = 96
    torch.manual_seed(0)
    ours = nn.SelfAttention(e, rng=0)
    theirs = dict(_torch_self_attention(ours).named_parameters())
    bound = 1 / np.sqrt(e)
    for name, p in ours.params.items():
        t = theirs[name].detach().numpy()
        assert np.abs(p).max() <= bound and np.abs(t).max() <= bound
        assert np.abs(p).max() > 0.9 * bound, name
        assert _ks(p, t) < 1.95 * np.sqrt(2 / p.size), name


# ---------------------------------------------------------------- bad input

X3 = np.zeros((2, 3, 4))
BAD = [
    (
        lambda: nn.SelfAttention(4).forward(np.zeros((3, 4))),
        r"^SelfAttention\(4\): x must be 3-D \(N, L, 4\), one sequence of L vectors per sample, got shape \(3, 4\)$",
    ),
    (
        lambda: nn.SelfAttention(4, causal=True).forward(np.zeros((2, 3, 5))),
        r"^SelfAttention\(4, causal=True\): x must have 4 features in its last axis \(N, L, 4\), got shape \(2, 3, 5\)$",
    ),
    (
        lambda: nn.SelfAttention(4).backward(X3),
        r"^SelfAttention\(4\): backward must come after a forward",
    ),
    (
        lambda: _after_forward(nn.SelfAttention(4), X3).backward(np.zeros((2, 4, 3))),
        r"^SelfAttention\(4\): dy must be of shape \(2, 3, 4\) \(the last forward's output\), got shape \(2, 4, 3\)$",
    ),
    (
        lambda: nn.SelfAttention(4).forward([[["a"] * 4]]),
        r"^SelfAttention\(4\): x must be an array of real numbers, got dtype <U1",
    ),
    (
        lambda: nn.SelfAttention(1).forward(np.broadcast_to(np.zeros((1, 1, 1)), (1, 2**15, 1))),
        r"^SelfAttention\(1\): the attention matrix .* at most 268435456 elements",
    ),
    (lambda: nn.SelfAttention(0), r"^SelfAttention: embed_dim must be an int >= 1, got 0"),
    (lambda: nn.SelfAttention(4.0), r"^SelfAttention: embed_dim must be an int >= 1, got 4.0"),
    (lambda: nn.SelfAttention(True), r"^SelfAttention: embed_dim must be an int >= 1, got True"),
    (lambda: nn.SelfAttention(4, 1), r"^SelfAttention: causal must be True or False, got 1"),
    (lambda: nn.SelfAttention(4, "no"), r"^SelfAttention: causal must be True or False"),
    (lambda: nn.SelfAttention(4, dtype=np.int64), r"^SelfAttention: dtype must be float32 or"),
    (lambda: nn.SelfAttention(4, rng="x"), r"^SelfAttention: rng must be None, a seed >= 0"),
]


def _after_forward(layer, x):
    layer.forward(x)
    return layer


@pytest.mark.parametrize("call,message", BAD, ids=[m[1:50] for _, m in BAD])
def test_bad_input_raises_a_value_error_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
