"""derive("attention"): every pattern the lesson states is proven (and a wrong one is caught),
the symbolic gradients equal PyTorch's autograd of F.scaled_dot_product_attention and sympy.diff
of the explicit quotient of exponentials, the causal mask's entries get exactly zero gradient,
the 1/√d is in every path back to Q and K, large scores stay finite, impossible settings are
refused, and the page, its URL, its CLI and its practice work."""

import numpy as np
import pytest
import sympy as sp

import engine
from derivations import check_answer, derive, names_for
from derivations.__main__ import main as cli
from derivations.attention import MAX_DIM, MAX_TOKENS, _Build
from derivations.polynomial import Polys, product
from derivations.symbols import Scope
from mathtext.functions import SoftmaxEntry
from mathtext.numeric import evaluate as tree_evaluate
from ui import patterns, urlstate
from ui.notes_mistakes import mistakes_for
from ui.registry import OPS

PATTERNS = ["dV = P^T dO", "dP = dO V^T", "dS = P ⊙ (dP − rowsum(dP ⊙ P))", "dQ = dS K/√d"]
PATTERNS += ["dK = dS^T Q/√d", "rows of dS sum to 0", "∂o/∂s = p (v − o)"]


def sizes(rng, causal=None):
    lq, lk = (int(v) for v in rng.integers(1, 5, 2))
    causal = bool(rng.integers(2)) if causal is None else causal
    if causal:
        lk = lq
    d, dv = (int(v) for v in rng.integers(1, 5, 2))
    return dict(queries=lq, keys=lk, d_k=d, d_v=dv, causal=causal)


def numbers(d, rng, scale=1.0):
    values = {n: rng.normal(size=m.shape) * scale for n, m in d.inputs.items()}
    return values, rng.normal(size=d.upstream.shape)


# ---------------------------------------------------------------- what is proven


@pytest.mark.parametrize("seed", range(6))
def test_every_pattern_is_proven_at_random_sizes(seed):
    params = sizes(np.random.default_rng(seed))
    d = derive("attention", **params)
    checks = dict(d.checks)
    for label in PATTERNS:
        assert checks[label] is True, (label, params)
    lk_seen = {len(s) for s in d.attention.seen if len(s) > 1}
    assert {f"softmax Jacobian, rows of {n}" for n in lk_seen} <= set(checks)
    assert all(checks.values())
    assert set(d.patterns) == {"dV = P^T dO", "dQ = dS K/√d", "dK = dS^T Q/√d"}
    for s in d.steps:
        if s.proven:
            assert r"\checkmark" in s.latex


def _plain_grads(params):
    """The chain-rule gradients of the plain-symbol derivation, multiplied out, and ∂L/∂S's
    pattern: what the proofs compare."""
    b = _Build(*params, Scope())
    polys = Polys()
    D, ok = b.do_ds(polys)
    assert ok
    G = Scope().upstream(Scope().matrix("o", (b.lq, b.dv)))
    derived = b.derived(polys, D, G)
    dP = G * b.V.T
    rowsum = [sp.Add(*[dP[i, j] * b.P[i, j] for j in range(b.lk)]) for i in range(b.lq)]
    dS = {
        (i, j): polys(b.P[i, j] * (dP[i, j] - rowsum[i])) for i in range(b.lq) for j in range(b.lk)
    }
    return b, polys, derived, dS, dP


def test_a_wrong_pattern_is_not_proven():
    """The comparison behind every ✓ can fail: the classic slips are each caught."""
    b, polys, derived, dS, dP = _plain_grads((3, 3, 2, 2, False))
    right = product(polys, lambda k, i: dS[(i, k)], lambda i, c: b.Q[i, c] * b.r, 3, 3, 2)
    assert polys.same(derived["K"], right)
    # ∂L/∂S·Q: the transpose missing (3 queries, 3 keys: the shapes agree, the entries do not)
    no_t = product(polys, lambda i, k: dS[(i, k)], lambda k, c: b.Q[k, c] * b.r, 3, 3, 2)
    assert not polys.same(derived["K"], no_t)
    # ∂L/∂S·K without the 1/√d
    no_root = product(polys, lambda i, k: dS[(i, k)], lambda k, c: b.K[k, c], 3, 3, 2)
    assert not polys.same(derived["Q"], no_root)
    # the softmax Jacobian taken as diagonal: ∂L/∂s = p(1 − p)·∂L/∂p
    diag = {
        (i, j): polys(b.P[i, j] * (1 - b.P[i, j]) * dP[i, j]) for i in range(3) for j in range(3)
    }
    wrong = product(polys, lambda i, k: diag[(i, k)], lambda k, c: b.K[k, c] * b.r, 3, 3, 2)
    assert not polys.same(derived["Q"], wrong)


def test_the_softmax_jacobian_is_proven_from_the_exponentials():
    """∂p_j/∂s_m = p_j([j = m] − p_m) against sympy.diff of e^{s_j} / Σ e^{s_m}, and the
    diagonal-only version is not."""
    from derivations.attention import softmax_jacobian_proven

    assert all(softmax_jacobian_proven(n) for n in range(2, MAX_TOKENS + 1))
    s = sp.symbols("s1:4")
    p = [sp.exp(v) / sp.Add(*[sp.exp(w) for w in s]) for v in s]
    off = sp.diff(p[0], s[1])  # not 0: taking the Jacobian as diagonal drops it
    assert sp.simplify(off + p[0] * p[1]) == 0 and off.subs({v: 0 for v in s}) != 0


# ---------------------------------------------------------------- against the references


@pytest.mark.parametrize("seed", range(8))
def test_symbolic_equals_torch_autograd_at_random_sizes(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(100 + seed)
    params = sizes(rng, causal=seed % 2 == 1)
    d = derive("attention", **params)
    values, up = numbers(d, rng, scale=2.0)
    sym = d.evaluate(values, up)
    t = {n: torch.tensor(v, requires_grad=True) for n, v in values.items()}
    out = torch.nn.functional.scaled_dot_product_attention(
        t["Q"][None], t["K"][None], t["V"][None], is_causal=params["causal"]
    )[0]
    out.backward(torch.tensor(up))
    np.testing.assert_allclose(d.forward(values), out.detach().numpy(), atol=1e-12)
    for n in "QKV":
        np.testing.assert_allclose(sym[n], t[n].grad.numpy(), atol=1e-12, err_msg=f"{params} {n}")


@pytest.mark.parametrize(
    "params", [dict(queries=2, keys=3, d_k=2, d_v=1), dict(queries=3, keys=3, causal=True)]
)
def test_symbolic_equals_sympy_diff_of_the_quotient_of_exponentials(params):
    """L = Σ ∂L/∂o · o with every p written e^{s_ij} / Σ_m e^{s_im}: sympy.diff of that, by
    every input, at random numbers, is the derivation's gradient."""
    d = derive("attention", **params)
    explicit = d.output.applyfunc(
        lambda e: e.replace(lambda x: isinstance(x, SoftmaxEntry), lambda x: x.explicit())
    )
    loss = sum((g * o for g, o in zip(d.upstream, explicit, strict=True)), sp.S.Zero)
    rng = np.random.default_rng(7)
    values, up = numbers(d, rng)
    point = {
        s: float(v) for n, m in d.inputs.items() for s, v in zip(m, values[n].ravel(), strict=True)
    }
    point |= {s: float(v) for s, v in zip(d.upstream, up.ravel(), strict=True)}
    sym = d.evaluate(values, up)
    for n, m in d.inputs.items():
        for idx in np.ndindex(*m.shape):
            by_diff = float(sp.diff(loss, m[idx]).evalf(subs=point))
            assert by_diff == pytest.approx(sym[n][idx], abs=1e-10), (n, idx)


# ---------------------------------------------------------------- the mask and the √d


def test_masked_scores_get_exactly_zero_gradient():
    d = derive("attention", queries=3, keys=3, d_k=2, d_v=2, causal=True)
    panels = {k: m for k, _, _, m in d.panels}
    for i in range(3):
        for j in range(3):
            if j > i:
                assert panels["P"][i, j] == 0 and panels["dS"][i, j] == 0
    assert panels["P"][0, 0] == 1 and panels["dS"][0, 0] == 0  # query 1 sees key 1 alone
    # key 3 and value 3 reach query 3 only
    assert {o[0] for o in d.jac["K"][(2, 0)]} == {2}
    assert {o[0] for o in d.jac["V"][(2, 1)]} == {2}
    rng = np.random.default_rng(3)
    values, up = numbers(d, rng)
    got = patterns.compile_matrices(d, [panels["dS"]])(values, up)[0]
    assert np.all(got[np.triu_indices(3, 1)] == 0)
    # nudging a masked score changes nothing: the engine's output ignores key 3 for query 1
    k2 = values["K"].copy()
    k2[2] += 5.0
    same = engine.attention(values["Q"], k2, values["V"], causal=True)
    assert np.allclose(same[:2], engine.attention(values["Q"], values["K"], values["V"], True)[:2])
    step = next(s for s in d.steps if s.title.startswith("The causal mask"))
    assert r"-\infty" in step.latex and step.proven


def test_one_key_sends_no_gradient_to_the_scores():
    d = derive("attention", queries=2, keys=1, d_k=2, d_v=2)
    assert d.jac["Q"] == {} and d.jac["K"] == {}
    assert all(v == 0 for v in d.grads["Q"]) and all(v == 0 for v in d.grads["K"])
    assert d.output[0, 0] == d.inputs["V"][0, 0]  # p = 1: the output is the value row


@pytest.mark.parametrize("d_k", [1, 2, 4])
def test_the_sqrt_d_is_in_every_path_to_q_and_k(d_k):
    d = derive("attention", queries=2, keys=3, d_k=d_k, d_v=2)
    rng = np.random.default_rng(d_k)
    values, up = numbers(d, rng)
    panels = {k: m for k, _, _, m in d.panels}
    dS = patterns.compile_matrices(d, [panels["dS"]])(values, up)[0]
    sym = d.evaluate(values, up)
    np.testing.assert_allclose(sym["Q"], dS @ values["K"] / np.sqrt(d_k), atol=1e-12)
    np.testing.assert_allclose(sym["K"], dS.T @ values["Q"] / np.sqrt(d_k), atol=1e-12)
    if d_k > 1:  # forgetting it is wrong by exactly √d
        assert not np.allclose(sym["Q"], dS @ values["K"])
    root = {1: "", 2: r"\sqrt{2}", 4: "{2}"}[d_k]
    step = next(s for s in d.steps if s.title.startswith("Pattern: ∂L/∂Q"))
    assert root in step.latex


def test_scores_of_a_thousand_stay_finite():
    """The softmax lesson once overflowed at logits of 710: every number here comes from
    p = e^{s − max s} / Σ e^{s − max s}."""
    d = derive("attention")
    values = {
        "Q": np.array([[1000.0, 0.0], [0.0, -1000.0]]),
        "K": np.array([[1.0, 2.0], [3.0, -4.0]]),
        "V": np.array([[1.0, 2.0], [3.0, 4.0]]),
    }
    up = np.ones((2, 2))
    sym = d.evaluate(values, up)
    eng = dict(zip("QKV", engine.attention_backward(up, *values.values()), strict=True))
    for n in "QKV":
        assert np.all(np.isfinite(sym[n]))
        np.testing.assert_allclose(sym[n], eng[n], atol=1e-9)
    np.testing.assert_allclose(d.forward(values), engine.attention(*values.values()))
    panels = [m for *_, m in d.panels]
    assert all(np.all(np.isfinite(a)) for a in patterns.compile_matrices(d, panels)(values, up))
    node = d.attention.probabilities[0, 0]
    big = {s: 1000.0 for s in node.free_symbols}
    assert np.isfinite(tree_evaluate(node, big))  # the answer checker's evaluator too
    assert float(node.xreplace(big)) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "params,fragment",
    [
        (dict(queries=MAX_TOKENS + 1), f"queries must be a whole number from 1 to {MAX_TOKENS}"),
        (dict(keys=0), "keys must be a whole number from 1"),
        (dict(d_k=MAX_DIM + 1), f"d_k must be a whole number from 1 to {MAX_DIM}"),
        (dict(d_v=2.5), "d_v must be a whole number"),
        (dict(queries=2, keys=3, causal=True), "you gave 2 queries and 3 keys"),
        (dict(causal="yes"), "causal must be True or False"),
        (dict(heads=2), "attention"),
    ],
)
def test_impossible_settings_are_refused_with_what_to_change(params, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        derive("attention", **params)


# ---------------------------------------------------------------- the lesson


def test_the_lesson_writes_every_entry_and_the_jacobian_beside_note_003():
    d = derive("attention", queries=2, keys=3, d_k=2, d_v=2)
    titles = [s.title for s in d.steps]
    scores = d.steps[1]
    assert scores.kind == "forward" and scores.latex.count("s_{") >= 6  # all six s_ij
    soft = d.steps[2]
    assert soft.latex.count(r"\frac{e^{s_") == 6
    jac = next(s for s in d.steps if s.title == "The softmax Jacobian")
    assert r"\mathrm{diag}" in jac.latex and "-p_{11} p_{12}" in jac.latex and jac.proven
    note = next(s for s in d.steps if "note 003" in s.title)
    assert "p - y" in note.latex
    mistakes = [s.title for s in d.steps if s.kind == "mistake"]
    assert len(mistakes) == 3 and any("√d" in t for t in mistakes)
    assert not any(t.startswith("The causal mask") for t in titles)
    assert all(
        set(s.shows) <= {"Q", "K", "V", "out", "up", "d:Q", "d:K", "d:V", "S", "P", "dP", "dS"}
        and s.shows
        for s in d.steps
    )


def test_the_transpose_slip_says_what_goes_wrong_at_these_sizes():
    def text(**kw):
        d = derive("attention", **kw)
        return next(s.text for s in d.steps if "transpose" in s.title)

    assert "does not even multiply" in text(queries=2, keys=3)
    assert "the shape cannot catch it" in text(queries=3, keys=3)
    assert "both orders agree" in text(queries=1, keys=1)


# ---------------------------------------------------------------- practice, CLI, URL


def test_entries_are_typed_with_the_weights_and_outputs_names():
    d = derive("attention")
    names = names_for(d)
    assert {"p11", "p12", "o11", "do11", "q11", "k11", "v11"} <= set(names)
    truth = d.grads["K"][0, 0]
    right = " + ".join(
        f"do{i}{n}*p{i}1*(v1{n} - o{i}{n})*q{i}1/sqrt(2)" for i in (1, 2) for n in (1, 2)
    )
    assert check_answer(right, truth, names, timeout=30).correct
    wrong = right.replace("/sqrt(2)", "")
    assert not check_answer(wrong, truth, names, timeout=30).correct
    # p11 + p12 = 1: an answer written with 1 − p12 for p11 is right (proven, the weights
    # as quotients of exponentials), and one with 1 − p11 for it is not
    fb = check_answer("do11*(1 - p12) + do21*p21", d.grads["V"][0, 0], names, timeout=30)
    assert fb.correct and fb.method == "symbolic"
    fb = check_answer("do11*(1 - p11) + do21*p21", d.grads["V"][0, 0], names, timeout=30)
    assert not fb.correct and fb.method == "different"
    masked = names_for(derive("attention", queries=2, keys=2, causal=True))
    assert "p12" not in masked and "p11" not in masked and "p21" in masked


def test_the_slips_right_answers_are_right():
    """The three practice items on the classic slips: the choice marked right is what the
    engine computes; the others are not."""
    items = {m.key: m for m in mistakes_for("attention")}
    assert set(items) == {"attention-root", "attention-transpose", "attention-diagonal"}
    for m in items.values():
        assert m.kind == "choice" and 0 <= m.answer < len(m.choices) and m.number == 0
    rng = np.random.default_rng(5)
    q, k, v = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 3))
    dy = rng.normal(size=(3, 3))
    dq, dk, _ = engine.attention_backward(dy, q, k, v)
    s = q @ k.T / np.sqrt(2)
    p = np.exp(s - s.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dp = dy @ v.T
    ds = p * (dp - (dp * p).sum(1, keepdims=True))
    np.testing.assert_allclose(ds @ k / np.sqrt(2), dq, atol=1e-12)  # the root item's answer
    assert not np.allclose(ds @ k, dq)
    np.testing.assert_allclose(ds.T @ q / np.sqrt(2), dk, atol=1e-12)  # the transpose item's
    assert (ds.shape[1] != q.shape[0]) and dk.shape == k.shape
    assert not np.allclose(p * (1 - p) * dp, ds)  # the diagonal item's wrong first choice
    np.testing.assert_allclose(ds.sum(1), 0, atol=1e-12)


def test_the_command_line_takes_a_causal_switch(capsys):
    assert cli(["attention", "--queries", "3", "--keys", "3", "--causal"]) == 0
    out = capsys.readouterr().out
    assert "causal=True" in out and "The causal mask" in out
    assert cli(["attention", "--queries", "2", "--keys", "3", "--causal"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: attention: a causal mask needs as many queries as keys")
    assert cli(["attention", "--d-k", "4", "--format", "latex"]) == 0
    assert r"\documentclass" in capsys.readouterr().out


def test_the_causal_switch_round_trips_through_the_url():
    spec = OPS["attention"]
    causal = next(p for p in spec.params if p.name == "causal")
    q = urlstate.encode(spec, spec.defaults() | {"causal": True, "queries": 3}, {})
    assert q["causal"] == "1" and q["queries"] == "3"
    assert urlstate.decode(spec, q)["causal"] is True
    assert urlstate.decode_value(causal, "0") is False
    assert urlstate.decode_value(causal, "maybe") is None


def test_the_page_with_the_mask_on():
    pytest.importorskip("streamlit")
    from tests.test_app import open_page, verdicts

    page = "pages/attention.py"
    at = open_page(page, {"queries": "3", "keys": "3", "causal": "1", "step": "11"})
    assert at.checkbox(key=f"{page}/causal").value is True
    assert "Step 11 of" in at.get("progress")[0].proto.text
    assert any("causal mask" in h.value for h in at.subheader)
    assert "FAIL" not in verdicts(at) and "pass" in verdicts(at)
    at.number_input(key=f"{page}/keys").set_value(2).run()  # 3 queries, 2 keys: refused
    assert at.error and "as many queries as keys" in at.error[0].value
    assert at.checkbox(key=f"{page}/causal").value is True  # the settings are kept
    at.checkbox(key=f"{page}/causal").set_value(False).run()
    assert not at.error and not at.exception
    at.radio(key=f"{page}/practice/mode").set_value("mistakes").run()
    assert not at.exception
    assert any("Find the mistake" in str(r.options) for r in at.radio)


def test_the_explorer_says_why_a_query_gets_no_gradient():
    """Query 1 of a causal mask sees key 1 alone: its q's get no gradient for that reason, not
    for a stride or padding this op does not have."""
    from ui import explain

    d = derive("attention", queries=2, keys=2, causal=True)
    ones = {n: np.ones(m.shape) for n, m in d.inputs.items()}
    tex, why = explain.gradient_latex(d, "Q", (0, 0), ones, np.ones((2, 2)))
    assert tex.endswith("= 0") and "single key" in why and "stride" not in why
    tex, why = explain.gradient_latex(d, "Q", (1, 0), ones, np.ones((2, 2)))
    assert not why  # query 2 sees two keys: a chain-rule sum


def test_each_weight_is_computed_once_per_evaluation(monkeypatch):
    """The gradients hold every p_ij many times over; lambdify printed each occurrence out in
    full (6 minutes to compile at 6 × 6). The numbers come from one walk instead, which
    computes each softmax entry once."""
    from mathtext import numeric

    calls = []
    real = numeric._softmax_entry
    monkeypatch.setattr(numeric, "_softmax_entry", lambda *a: calls.append(a) or real(*a))
    d = derive("attention", queries=3, keys=3, d_k=2, d_v=2)
    rng = np.random.default_rng(1)
    values, up = numbers(d, rng)
    sym = d.evaluate(values, up)
    assert len(calls) == 9  # p_11 … p_33, once each
    eng = engine.attention_backward(up, values["Q"], values["K"], values["V"])
    for n, g in zip("QKV", eng, strict=True):
        np.testing.assert_allclose(sym[n], g, atol=1e-12)
