"""engine.attention and attention_backward: against
torch.nn.functional.scaled_dot_product_attention over random shapes, broadcast batch axes,
causal masks with L == S and L ≠ S, float32 and float64; against finite differences; the
causal mask's meaning without torch; extreme scores; empty axes; hostile arguments. The torch
comparisons skip cleanly where torch is not installed."""

import time

import numpy as np
import pytest

import engine
from engine._checks import MAX_ELEMENTS


def _torch():
    return pytest.importorskip("torch")


TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}


def _batch_shapes(rng):
    """Three batch shapes that broadcast together: up to 3 axes, some stretched from 1, some
    missing on the left (q (L, d) against k (B, S, d) is allowed, as in torch)."""
    full = [int(n) for n in rng.integers(1, 4, rng.integers(0, 4))]
    shapes = []
    for _ in range(3):
        b = [1 if rng.random() < 0.3 else n for n in full]
        shapes.append(tuple(b[int(rng.integers(0, len(b) + 1)) if rng.random() < 0.2 else 0 :]))
    return shapes


def _random_case(seed):
    rng = np.random.default_rng(seed)
    bq, bk, bv = _batch_shapes(rng)
    n_q, n_k, d, dv = (int(n) for n in rng.integers(1, 8, 4))
    causal = bool(rng.random() < 0.5)
    q = rng.standard_normal((*bq, n_q, d)) * rng.choice([0.5, 1, 3])
    return q, rng.standard_normal((*bk, n_k, d)), rng.standard_normal((*bv, n_k, dv)), causal, rng


def _torch_attention(q, k, v, causal, dy):
    torch = _torch()
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = torch.nn.functional.scaled_dot_product_attention(*ts, is_causal=causal)
    out.backward(torch.tensor(dy))
    return out.detach().numpy(), tuple(t.grad.numpy() for t in ts)


def _compare(q, k, v, causal, dy, dtype):
    q, k, v, dy = (a.astype(dtype) for a in (q, k, v, dy))
    out = engine.attention(q, k, v, causal=causal)
    grads = engine.attention_backward(dy, q, k, v, causal=causal)
    ref_out, ref_grads = _torch_attention(q, k, v, causal, dy)
    tol, shapes = TOL[dtype], f"q {q.shape} k {k.shape} v {v.shape} causal={causal}"
    assert out.dtype == dtype and out.shape == ref_out.shape, shapes
    np.testing.assert_allclose(out, ref_out, **tol, err_msg=f"output, {shapes}")
    for name, g, r in zip("qkv", grads, ref_grads, strict=True):
        assert g.dtype == dtype and g.shape == r.shape, f"d{name}, {shapes}"
        np.testing.assert_allclose(g, r, **tol, err_msg=f"d{name}, {shapes}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("seed", range(40))
def test_random_shapes_match_torch(seed, dtype):
    q, k, v, causal, rng = _random_case(seed)
    out_shape = (*np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]), q.shape[-2])
    _compare(q, k, v, causal, rng.standard_normal((*out_shape, v.shape[-1])), dtype)


# (L, S): square, more queries than keys, more keys than queries, a single query or key
CAUSAL_SHAPES = [(5, 5), (7, 3), (3, 7), (1, 6), (6, 1), (1, 1)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n_q,n_k", CAUSAL_SHAPES)
def test_causal_and_not_at_every_aspect_match_torch(n_q, n_k, causal, dtype):
    rng = np.random.default_rng(n_q * 10 + n_k)
    q, k, v = (rng.standard_normal((2, 3, n, 4)) for n in (n_q, n_k, n_k))
    _compare(q, k, v, causal, rng.standard_normal((2, 3, n_q, 4)), dtype)


@pytest.mark.parametrize("n_q,n_k", CAUSAL_SHAPES)
def test_causal_means_query_i_sees_keys_up_to_i_top_left_aligned(n_q, n_k):
    """Without torch: changing key or value j > i leaves output row i as it was, and a row
    that sees every key (i ≥ S − 1) is the unmasked row."""
    rng = np.random.default_rng(n_q + 7 * n_k)
    q, k, v = (rng.standard_normal((2, n, 3)) for n in (n_q, n_k, n_k))
    out = engine.attention(q, k, v, causal=True)
    full = engine.attention(q, k, v)
    for i in range(n_q):
        k2, v2 = k.copy(), v.copy()
        k2[:, i + 1 :] += 5 * rng.standard_normal(k2[:, i + 1 :].shape)
        v2[:, i + 1 :] += 5
        np.testing.assert_allclose(engine.attention(q, k2, v2, causal=True)[:, i], out[:, i])
        if i >= n_k - 1:
            np.testing.assert_allclose(out[:, i], full[:, i], rtol=1e-12)
    np.testing.assert_allclose(out[:, 0], v[:, 0])  # row 0 sees key 0 only


def test_masked_entries_get_exactly_zero_gradient():
    """A key that no query may see gets no gradient at all, however large the upstream."""
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((3, 2)), rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    dq, dk, dv = engine.attention_backward(1e6 * rng.standard_normal((3, 2)), q, k, v, causal=True)
    assert not dk[3:].any() and not dv[3:].any()  # keys 3 and 4: beyond every query (L = 3)
    assert dk[:3].all() and dv[:3].all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("causal", [False, True])
def test_scores_of_plus_minus_1000_stay_finite(causal, dtype):
    # d = 1, q kᵀ = ±1000 (and ±40,000): exp would overflow without the row max subtracted
    q = np.array([[[1000.0], [-1000.0], [40000.0]]], dtype=dtype)
    k = np.array([[[1.0], [0.0], [-1.0]]], dtype=dtype)
    v = np.array([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]], dtype=dtype)
    out = engine.attention(q, k, v, causal=causal)
    grads = engine.attention_backward(np.ones_like(out), q, k, v, causal=causal)
    assert np.isfinite(out).all() and all(np.isfinite(g).all() for g in grads)
    expected = [[1, 2], [3, 4] if causal else [5, 6], [1, 2]]  # each row takes its top score
    np.testing.assert_allclose(out[0], expected, atol=1e-6)
    if _has_torch():
        _compare(q, k, v, causal, np.ones(out.shape), dtype)


def _has_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize(
    "q_shape,k_shape,v_shape",
    [
        ((3, 4), (0, 4), (0, 2)),  # no keys: O is an empty sum, zeros (as torch)
        ((0, 4), (3, 4), (3, 2)),  # no queries
        ((3, 0), (5, 0), (5, 2)),  # d = 0: every score is 0, O is the mean of v (as torch)
        ((0, 3, 4), (0, 5, 4), (0, 5, 2)),  # an empty batch
        ((2, 3, 4), (2, 5, 4), (2, 5, 0)),  # d_v = 0
    ],
)
@pytest.mark.parametrize("causal", [False, True])
def test_empty_axes_give_torchs_answer(q_shape, k_shape, v_shape, causal):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s) for s in (q_shape, k_shape, v_shape))
    out = engine.attention(q, k, v, causal=causal)
    dy = rng.standard_normal(out.shape)
    grads = engine.attention_backward(dy, q, k, v, causal=causal)
    assert np.isfinite(out).all() and all(np.isfinite(g).all() for g in grads)
    if q_shape[-1] == 0 and q_shape[-2] and not causal:
        np.testing.assert_allclose(out, np.broadcast_to(v.mean(axis=-2), out.shape))
    if _has_torch():
        ref_out, ref_grads = _torch_attention(q, k, v, causal, dy)
        np.testing.assert_allclose(out, ref_out, atol=1e-12)
        for g, r in zip(grads, ref_grads, strict=True):
            np.testing.assert_allclose(g, r, atol=1e-12)


GRADCHECK_CASES = [
    ((3, 2), (3, 2), (3, 2), False),
    ((3, 2), (3, 2), (3, 2), True),
    ((2, 4, 3), (2, 2, 3), (2, 2, 2), True),  # L > S
    ((2, 2, 3), (1, 4, 3), (2, 4, 1), True),  # L < S, broadcast k
    ((2, 1, 3, 2), (3, 3, 2), (1, 3, 3), False),  # broadcast everything
]


@pytest.mark.parametrize("q_shape,k_shape,v_shape,causal", GRADCHECK_CASES, ids=str)
def test_backward_matches_finite_differences(q_shape, k_shape, v_shape, causal):
    rng = np.random.default_rng(len(q_shape) + sum(k_shape))
    inputs = {
        n: rng.standard_normal(s) for n, s in zip("qkv", (q_shape, k_shape, v_shape), strict=True)
    }
    out = engine.attention(*inputs.values(), causal=causal)
    dy = rng.standard_normal(out.shape)
    dq, dk, dv = engine.attention_backward(dy, *inputs.values(), causal=causal)
    res = engine.gradcheck(
        lambda q, k, v: engine.attention(q, k, v, causal=causal),
        inputs,
        {"q": dq, "k": dk, "v": dv},
        dy=dy,
    )
    assert res.ok, str(res)


def test_the_scale_is_one_over_root_d_of_the_last_axis():
    # q = k = e1 in d = 4: scores 1/√4 on the diagonal, 0 elsewhere
    q = k = np.eye(2, 4)
    v = np.array([[1.0], [0.0]])
    p00 = np.exp(0.5) / (np.exp(0.5) + 1)
    np.testing.assert_allclose(engine.attention(q, k, v)[:, 0], [p00, 1 - p00], rtol=1e-14)


def test_dtypes_follow_the_engine_conventions():
    x32 = np.ones((2, 3), dtype=np.float32)
    assert engine.attention(x32, x32, x32).dtype == np.float32
    assert all(g.dtype == np.float32 for g in engine.attention_backward(x32, x32, x32, x32))
    assert engine.attention([[1, 2]], [[3, 4]], [[True]]).dtype == np.float64


QKV = {"q": np.ones((2, 3, 4)), "k": np.ones((2, 5, 4)), "v": np.ones((2, 5, 6))}
BAD_SHAPES = [
    (dict(q=np.ones(4)), r"^attention: q must be at least 2-D \(\.\.\., L, d\), got shape \(4,\)"),
    (dict(k=np.ones(4)), r"^attention: k must be at least 2-D \(\.\.\., S, d\), got shape \(4,\)"),
    (dict(v=np.ones(5)), r"^attention: v must be at least 2-D \(\.\.\., S, d_v\)"),
    (
        dict(k=np.ones((2, 5, 3))),
        r"^attention: k must be \(\.\.\., S, 4\): the same d as q \(2, 3, 4\), got shape \(2, 5, 3\)",
    ),
    (
        dict(v=np.ones((2, 4, 6))),
        r"^attention: v must be \(\.\.\., 5, d_v\): one row per row of k \(2, 5, 4\), got shape \(2, 4, 6\)",
    ),
    (
        dict(k=np.ones((3, 5, 4))),
        r"^attention: q, k and v must be arrays whose batch axes .* broadcast together, got shapes \(2, 3, 4\), \(3, 5, 4\) and \(2, 5, 6\)",
    ),
]


@pytest.mark.parametrize("fn", ["attention", "attention_backward"])
@pytest.mark.parametrize("change,message", BAD_SHAPES, ids=[m[13:40] for _, m in BAD_SHAPES])
def test_bad_shapes_are_refused_naming_the_argument(fn, change, message):
    args = {**QKV, **change}
    call = getattr(engine, fn)
    with pytest.raises(ValueError, match=message.replace("attention", fn, 1)):
        if fn == "attention":
            call(**args)
        else:
            call(np.ones((2, 3, 6)), **args)


@pytest.mark.parametrize("fn", ["attention", "attention_backward"])
@pytest.mark.parametrize("bad", [1, 0, "yes", None, 1.0, np.ones(1)])
def test_causal_must_be_a_bool(fn, bad):
    args = (np.ones((2, 3, 6)),) * (fn == "attention_backward") + tuple(QKV.values())
    with pytest.raises(ValueError, match=rf"^{fn}: causal must be True or False, got"):
        getattr(engine, fn)(*args, causal=bad)
    getattr(engine, fn)(*args, causal=np.bool_(True))  # numpy's bool is a bool


def test_upstream_of_the_wrong_shape_is_refused():
    with pytest.raises(
        ValueError,
        match=r"^attention_backward: dy must be of shape \(2, 3, 6\) \(the shape of the output P v\), got shape \(2, 6, 3\)",
    ):
        engine.attention_backward(np.ones((2, 6, 3)), **QKV)


# (q, k) shapes whose q kᵀ would not fit, as broadcast views (nothing allocated)
HUGE = [((2**15, 1), (2**14, 1)), ((2**40, 1), (2**20, 1)), ((2**50, 1, 1), (1, 1))]


@pytest.mark.parametrize("fn", ["attention", "attention_backward"])
@pytest.mark.parametrize("q_shape,k_shape", HUGE, ids=str)
def test_an_attention_matrix_past_the_limit_is_refused_quickly(fn, q_shape, k_shape):
    q = np.broadcast_to(np.zeros((1,) * len(q_shape)), q_shape)
    k = np.broadcast_to(np.zeros((1, 1)), k_shape)
    args = (np.zeros((1, 1)),) * (fn == "attention_backward") + (q, k, k)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=rf"^{fn}: the attention matrix .* at most {MAX_ELEMENTS}"):
        getattr(engine, fn)(*args)
    assert time.perf_counter() - t0 < 5


def test_an_output_past_the_limit_is_refused_quickly():
    # a small attention matrix (2**15 × 1) but a wide v: O would be 2**15 × 2**14
    q = np.broadcast_to(np.zeros((1, 1)), (2**15, 1))
    v = np.broadcast_to(np.zeros((1, 1)), (1, 2**14))
    with pytest.raises(
        ValueError, match=rf"^attention: the output P v must have at most {MAX_ELEMENTS}"
    ):
        engine.attention(q, np.zeros((1, 1)), v)


def test_inputs_are_left_as_they_were():
    rng = np.random.default_rng(1)
    q, k, v, dy = (rng.standard_normal((2, 3, 3)) for _ in range(4))
    kept = [a.copy() for a in (q, k, v, dy)]
    engine.attention(q, k, v, causal=True)
    engine.attention_backward(dy, q, k, v, causal=True)
    for a, b in zip((q, k, v, dy), kept, strict=True):
        np.testing.assert_array_equal(a, b)
