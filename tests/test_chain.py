"""Derivations that compose: two ops chained by substitution, and whole networks (an MLP, a tiny
CNN) built from the single-op maths, checked against the engine's backward passes."""

import numpy as np
import pytest
import sympy as sp

import engine
from derivations import Scope, derive, derive_math
from derivations.chain import chain, rename
from mathtext.functions import NUMERIC

RNG = np.random.default_rng(2026)


def _values(m, rng=RNG):
    return {n: rng.standard_normal(M.shape) for n, M in m.inputs.items()}


def _whole_expression_grads(m, values, upstream):
    """The composite's own symbolic gradients, lambdified whole: checks the composed Jacobian
    itself, not only the part-by-part evaluation (small sizes only)."""
    args = [s for M in m.inputs.values() for s in M] + list(m.upstream)
    plain = {s: sp.Symbol(f"v{i}") for i, s in enumerate(args)}
    fn = sp.lambdify(
        [plain[s] for s in args], [m.grads[n].xreplace(plain) for n in m.inputs], modules=NUMERIC
    )
    flat = [float(v) for n in m.inputs for v in np.ravel(values[n])]
    flat += [float(v) for v in np.ravel(upstream)]
    return {
        n: np.array(g, dtype=float).reshape(m.inputs[n].shape)
        for n, g in zip(m.inputs, fn(*flat), strict=True)
    }


@pytest.mark.parametrize("act", ["sigmoid", "relu", "tanh", "softplus"])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (3, 2)])
def test_linear_then_activation_equals_the_engine(act, shape):
    n, o = shape
    lin = derive_math("linear", batch=n, in_features=2, out_features=o, scope=Scope(1))
    m = chain(lin, derive_math(act, shape=(n, o), scope=Scope(1, letters=(("x", "z"),))))
    v, up = _values(m), RNG.standard_normal((n, o))
    z = engine.linear(v["X"], v["W"], v["b"].ravel())
    dz = getattr(engine, f"{act}_backward")(up, z)
    dx, dw, db = engine.linear_backward(dz, v["X"], v["W"])
    got = m.evaluate(v, up)
    np.testing.assert_allclose(got["X"], dx, atol=1e-12)
    np.testing.assert_allclose(got["W"], dw, atol=1e-12)
    np.testing.assert_allclose(got["b"].ravel(), db, atol=1e-12)
    whole = _whole_expression_grads(m, v, up)
    for name in m.inputs:
        np.testing.assert_allclose(whole[name], got[name], atol=1e-12, err_msg=name)
    np.testing.assert_allclose(m.forward(v), getattr(engine, act)(z), atol=1e-12)


def test_conv2d_then_relu_equals_the_engine():
    conv = derive_math("conv2d", input_shape=(4, 3), kernel_shape=(2, 2), stride=1, scope=Scope(1))
    m = chain(conv, derive_math("relu", shape=(3, 2), scope=Scope(1, letters=(("x", "z"),))))
    v, up = _values(m), RNG.standard_normal((3, 2))
    z = engine.conv2d(v["X"][None, None], v["K"][None, None], v["b"].reshape(1))
    dz = engine.relu_backward(up[None, None], z)
    dx, dk, db = engine.conv2d_backward(dz, v["X"][None, None], v["K"][None, None])
    got = m.evaluate(v, up)
    np.testing.assert_allclose(got["X"], dx[0, 0], atol=1e-12)
    np.testing.assert_allclose(got["K"], dk[0, 0], atol=1e-12)
    np.testing.assert_allclose(got["b"].ravel(), db, atol=1e-12)
    whole = _whole_expression_grads(m, v, up)
    np.testing.assert_allclose(whole["K"], got["K"], atol=1e-12)


def test_the_chain_rule_falls_out_of_substitution():
    """∂L/∂w of linear → sigmoid is linear's own ∂L/∂w with its upstream replaced by the
    sigmoid's ∂L/∂x: backprop, written as a substitution."""
    lin = derive_math("linear", batch=1, in_features=2, out_features=2, scope=Scope(1))
    sig = derive_math("sigmoid", shape=(1, 2), scope=Scope(1, letters=(("x", "z"),)))
    m = chain(lin, sig)
    link = dict(zip(sig.inputs["X"], lin.output, strict=True))
    upstream = {u: g.xreplace(link) for u, g in zip(lin.upstream, sig.grads["X"], strict=True)}
    by_hand = lin.grads["W"].xreplace(upstream)
    assert (by_hand - m.grads["W"]).applyfunc(sp.simplify) == sp.zeros(2, 2)


def test_chain_refuses_what_does_not_fit():
    lin = derive_math("linear", batch=1, in_features=2, out_features=3, scope=Scope(1))
    with pytest.raises(ValueError, match=r"output is \(1, 3\)"):
        chain(lin, derive_math("relu", shape=(1, 2), scope=Scope(1)))
    with pytest.raises(ValueError, match="both ops have an input named"):
        chain(lin, derive_math("linear", batch=1, in_features=3, out_features=1, scope=Scope(2)))
    same = rename(derive_math("linear", batch=1, in_features=3, out_features=1), {"W": "W2"})
    with pytest.raises(ValueError, match="no input 'Q'"):
        chain(lin, same, link="Q")
    unscoped = derive_math("linear", batch=1, in_features=2, out_features=3)
    other = rename(derive_math("linear", batch=1, in_features=3, out_features=1), {"W": "W2"})
    with pytest.raises(ValueError, match="share symbols"):
        chain(rename(unscoped, {"b": "b1"}), rename(other, {"b": "b2"}))


# ---------------------------------------------------------------- whole networks


def _act(name):
    return getattr(engine, name), getattr(engine, f"{name}_backward")


def engine_mlp(v, sizes, act, target):
    """The same MLP on the engine's functional ops: forward, then backward by hand."""
    fwd, bwd = _act(act)
    depth = len(sizes) - 1
    a, cache = v["X"], []
    for ell in range(1, depth + 1):
        z = engine.linear(a, v[f"W{ell}"], v[f"b{ell}"].ravel())
        cache.append((a, z))
        a = fwd(z) if ell < depth else z
    loss = float(engine.cross_entropy(a, [target]))
    g, grads = engine.cross_entropy_backward(a, [target]), {}
    for ell in range(depth, 0, -1):
        a_prev, z = cache[ell - 1]
        if ell < depth:
            g = bwd(g, z)
        g, grads[f"W{ell}"], db = engine.linear_backward(g, a_prev, v[f"W{ell}"])
        grads[f"b{ell}"] = db.reshape(1, -1)
    grads["X"] = g
    return loss, grads


MLPS = [
    ((2, 3, 2), "sigmoid", 0),
    ((3, 1, 2), "relu", 1),
    ((1, 4, 4, 3), "tanh", 2),
    ((4, 2, 3, 2, 4), "relu", 3),
    ((2, 1, 2), "sigmoid", 0),  # one class is refused: a one-unit layer instead
]


@pytest.mark.parametrize("sizes,act,target", MLPS)
def test_mlp_derivation_equals_the_engine(sizes, act, target):
    d = derive("mlp", layer_sizes=sizes, activation=act, target=target)
    assert d.output.shape == (1, 1) and d.upstream.shape == (1, 1)
    assert list(d.inputs)[:3] == ["X", "W1", "b1"] and d.inputs["X"].shape == (1, sizes[0])
    for name, m in d.inputs.items():
        assert d.grads[name].shape == m.shape, name
    v = _values(d)
    loss, ref = engine_mlp(v, sizes, act, target)
    np.testing.assert_allclose(d.forward(v), [[loss]], atol=1e-12)
    got = d.evaluate(v, [[1.0]])
    for name in d.inputs:
        np.testing.assert_allclose(got[name], ref[name], atol=1e-12, err_msg=name)


def test_mlp_symbolic_gradient_is_the_whole_chain():
    d = derive("mlp")
    v = _values(d)
    whole = _whole_expression_grads(d, v, [[1.0]])
    got = d.evaluate(v, [[1.0]])
    for name in d.inputs:
        np.testing.assert_allclose(whole[name], got[name], atol=1e-12, err_msg=name)


def engine_cnn(v, pool, target):
    x, k, b = v["X"][None, None], v["K"][None, None], v["b"].reshape(1)
    z = engine.conv2d(x, k, b)
    r = engine.relu(z)
    p = engine.max_pool2d(r, pool)
    flat = p.reshape(1, -1)
    logits = engine.linear(flat, v["W"], v["c"].ravel())
    loss = float(engine.cross_entropy(logits, [target]))
    dlog = engine.cross_entropy_backward(logits, [target])
    dflat, dw, dc = engine.linear_backward(dlog, flat, v["W"])
    dr = engine.max_pool2d_backward(dflat.reshape(p.shape), r, pool)
    dx, dk, db = engine.conv2d_backward(engine.relu_backward(dr, z), x, k)
    return loss, {"X": dx[0, 0], "K": dk[0, 0], "b": db.reshape(1, 1), "W": dw, "c": dc[None]}


CNNS = [
    dict(),
    dict(input_shape=(4, 4), kernel_shape=(3, 3), pool=2, classes=3, target=2),
    dict(input_shape=(5, 4), kernel_shape=(2, 3), pool=(2, 1), classes=2, target=1),
    dict(input_shape=(6, 6), kernel_shape=(3, 3), pool=2, classes=4, target=0),
]


@pytest.mark.parametrize("kw", CNNS, ids=str)
def test_cnn_derivation_equals_the_engine(kw):
    d = derive("cnn", **kw)
    assert list(d.inputs) == ["X", "K", "b", "W", "c"]
    assert d.inputs["b"].shape == (1, 1) and d.output.shape == (1, 1)
    for name, m in d.inputs.items():
        assert d.grads[name].shape == m.shape, name
    v = _values(d)
    loss, ref = engine_cnn(v, d.params["pool"], d.params["target"])
    np.testing.assert_allclose(d.forward(v), [[loss]], atol=1e-12)
    got = d.evaluate(v, [[1.0]])
    for name in d.inputs:
        np.testing.assert_allclose(got[name], ref[name], atol=1e-12, err_msg=name)


def test_cnn_symbolic_gradient_is_the_whole_chain():
    d = derive("cnn")
    v = _values(d)
    whole = _whole_expression_grads(d, v, [[1.0]])
    got = d.evaluate(v, [[1.0]])
    for name in d.inputs:
        np.testing.assert_allclose(whole[name], got[name], atol=1e-12, err_msg=name)


@pytest.mark.parametrize(
    "op,kw,message",
    [
        ("cnn", dict(input_shape=(4, 4), kernel_shape=(2, 2), pool=2), "does not divide"),
        ("cnn", dict(target=2), "target must be a class index from 0 to 1"),
        ("cnn", dict(input_shape=(9, 9)), "larger than 8×8"),
        ("mlp", dict(layer_sizes=(2, 3)), "3 to 5 sizes"),
        ("mlp", dict(layer_sizes=(2, 5, 2)), "from 1 to 4"),
        ("mlp", dict(activation="gelu"), "activation must be one of"),
        ("mlp", dict(target=-1), "0-based"),
        # in the widget's counting too (the softmax lesson said it, the networks did not)
        (
            "mlp",
            dict(target=3),
            r"a true class from 1 to 2 as the lessons count; you gave 3 \(class 4\)",
        ),
        ("cnn", dict(target=True), "a true class from 1 to 2"),
    ],
)
def test_networks_refuse_impossible_settings(op, kw, message):
    with pytest.raises(ValueError, match=message):
        derive(op, **kw)
