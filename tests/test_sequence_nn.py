"""What a sequence model needs around engine.nn.SelfAttention (what the live page trains):
Embedding, PositionalEmbedding, Linear and SoftmaxCrossEntropy over (N, L, ·), a whole model
against torch with a per-token loss, SGD and Adam against torch.optim step by step, and
engine.train with (N, L) labels; bad input. The torch comparisons skip cleanly where torch is
not installed."""

import numpy as np
import pytest

from engine import nn, train
from tests.test_attention_nn import (
    DTYPES,
    TOL,
    _after_forward,
    _check_grads,
    _copy_into,
    _ks,
    _torch,
    _torch_grads,
    _torch_layout,
    _torch_self_attention,
)


def test_embedding_init_is_standard_normal_as_torchs():
    torch = _torch()
    ours = nn.Embedding(300, 64, rng=0).params["weight"]
    torch.manual_seed(0)
    theirs = torch.nn.Embedding(300, 64).weight.detach().numpy()
    assert _ks(ours, theirs) < 1.95 * np.sqrt(2 / ours.size)
    assert abs(ours.mean()) < 0.02 and ours.std() == pytest.approx(1, rel=0.02)


# ---------------------------------------------------------------- a sequence model


def _seq_model(r, vocab=7, length=5, e=8, causal=False, classes=None):
    """Embedding → positions → one head of self-attention → ReLU → per-token read-out."""
    return nn.Sequential(
        nn.Embedding(vocab, e, rng=r),
        nn.PositionalEmbedding(length, e, rng=r),
        nn.SelfAttention(e, causal, rng=r),
        nn.ReLU(),
        nn.Linear(e, classes or vocab, rng=r),
    )


def _to_torch_seq(model, dtype):
    """The same model in torch: x ↦ emb(x) + pos(arange(L)), then as the engine's layers."""
    torch = _torch()
    tnn = torch.nn
    emb, pos, att, _, lin = model.layers

    class Positions(tnn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.weight = tnn.Parameter(torch.zeros(max_len, dim))

        def forward(self, x):
            return x + self.weight[: x.shape[1]]

    tmodel = tnn.Sequential(
        tnn.Embedding(emb.num_embeddings, emb.embedding_dim),
        Positions(pos.max_len, pos.embed_dim),
        _torch_self_attention(att),
        tnn.ReLU(),
        tnn.Linear(lin.in_features, lin.out_features),
    )
    return _copy_into(tmodel, model, dtype)


@DTYPES
@pytest.mark.parametrize("causal", [False, True])
def test_a_sequence_model_matches_torch_with_a_per_token_loss(causal, dtype):
    torch = _torch()
    model = _seq_model(np.random.default_rng(1), causal=causal).astype(dtype)
    assert "2.q.weight" in model.params and "0.weight" in model.params
    tmodel = _to_torch_seq(model, dtype)
    r = np.random.default_rng(2)
    x, y = r.integers(0, 7, (4, 5)), r.integers(0, 7, (4, 5))
    loss_fn = nn.SoftmaxCrossEntropy()
    logits = model.forward(x)
    assert logits.shape == (4, 5, 7) and logits.dtype == dtype
    loss = loss_fn.forward(logits, y)
    assert model.backward(loss_fn.backward()) is None  # token ids have no gradient
    tlogits = tmodel(torch.tensor(x))
    tloss = torch.nn.functional.cross_entropy(tlogits.reshape(-1, 7), torch.tensor(y).reshape(-1))
    tloss.backward()
    tol = TOL[dtype]
    np.testing.assert_allclose(logits, tlogits.detach().numpy(), **tol)
    assert loss == pytest.approx(tloss.item(), rel=tol["rtol"], abs=tol["atol"])
    # torch's own layout for per-position classes, (N, K, L), gives the same loss
    tloss2 = torch.nn.functional.cross_entropy(tlogits.transpose(1, 2), torch.tensor(y))
    assert loss == pytest.approx(tloss2.item(), rel=tol["rtol"], abs=tol["atol"])
    _check_grads(model, _torch_grads(model, tmodel), tol, "sequence model")


OPTIMISERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
]


@pytest.mark.parametrize("opt_name,kw", OPTIMISERS, ids=[f"{n} {kw}" for n, kw in OPTIMISERS])
def test_optimisers_match_torch_optim_step_by_step(opt_name, kw):
    torch = _torch()
    model = _seq_model(np.random.default_rng(3), causal=True)
    tmodel = _to_torch_seq(model, np.float64)
    opt = getattr(nn, opt_name)(model, **kw)
    topt = getattr(torch.optim, opt_name)(tmodel.parameters(), **kw)
    loss_fn = nn.SoftmaxCrossEntropy()
    r = np.random.default_rng(4)
    for step in range(6):
        x, y = r.integers(0, 7, (3, 5)), r.integers(0, 7, (3, 5))
        loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step()
        topt.zero_grad()
        tout = tmodel(torch.tensor(x)).reshape(-1, 7)
        torch.nn.functional.cross_entropy(tout, torch.tensor(y).reshape(-1)).backward()
        topt.step()
        for n, p in tmodel.named_parameters():
            np.testing.assert_allclose(
                model.params[n],
                _torch_layout(model, n, p.detach().numpy()),
                rtol=1e-9,
                atol=1e-11,
                err_msg=f"{opt_name} {kw}: {n} after step {step + 1}",
            )


def test_train_learns_to_reverse_short_sequences():
    """engine.train with a sequence model and (N, L) labels: the loss falls and predict gives one
    class per position. (The live page's task and its accuracy goal: tests/test_attention_trained.py.)"""
    r = np.random.default_rng(0)
    x = r.integers(0, 5, (256, 4))
    y = x[:, ::-1].copy()
    model = _seq_model(r, vocab=5, length=4, e=16)
    opt, loss_fn = nn.Adam(model, lr=0.01), nn.SoftmaxCrossEntropy()
    losses = [train.train_epoch(model, loss_fn, opt, x, y, 32, r) for _ in range(40)]
    assert losses[-1] < 0.25 * losses[0]
    pred = train.predict(model, x)
    assert pred.shape == (256, 4)
    np.testing.assert_array_equal(pred, model.forward(x).argmax(axis=-1))
    assert train.accuracy(model, x, y) == np.mean(pred == y) > 0.9


def test_self_attention_classifies_whole_sequences_with_train():
    """A sequence → one label: attention, Flatten, Linear, with (N,) labels, as before."""
    r = np.random.default_rng(1)
    x = r.standard_normal((200, 3, 4))
    y = (x[:, :, 0].sum(axis=1) > x[:, :, 1].sum(axis=1)).astype(int)
    model = nn.Sequential(nn.SelfAttention(4, rng=r), nn.Flatten(), nn.Linear(12, 2, rng=r))
    opt, loss_fn = nn.SGD(model, lr=0.1, momentum=0.9), nn.SoftmaxCrossEntropy()
    first = train.train_epoch(model, loss_fn, opt, x, y, 20, r)
    for _ in range(30):
        last = train.train_epoch(model, loss_fn, opt, x, y, 20, r)
    assert last < 0.5 * first and train.accuracy(model, x, y) > 0.9


# ---------------------------------------------------------------- the pieces, one by one


@DTYPES
def test_linear_on_a_sequence_is_torchs_linear(dtype):
    torch = _torch()
    lin = nn.Linear(4, 3, rng=0).astype(dtype)
    tlin = _copy_into(torch.nn.Linear(4, 3), lin, dtype)
    r = np.random.default_rng(0)
    x, dy = r.standard_normal((2, 5, 4)).astype(dtype), r.standard_normal((2, 5, 3)).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = tlin(tx)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(lin.forward(x), ty.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(lin.backward(dy), tx.grad.numpy(), **TOL[dtype])
    _check_grads(lin, _torch_grads(lin, tlin), TOL[dtype], "Linear on (N, L, in)")


def test_embedding_scatter_adds_the_gradient_of_repeated_tokens():
    emb = nn.Embedding(4, 2, rng=0)
    x = np.array([[1, 1, 3], [1, 0, 3]])
    y = emb.forward(x)
    np.testing.assert_array_equal(y, emb.params["weight"][x])
    dy = np.arange(12.0).reshape(2, 3, 2)
    assert emb.backward(dy) is None
    expected = np.array([[8, 9], [0 + 2 + 6, 1 + 3 + 7], [0, 0], [4 + 10, 5 + 11]])
    np.testing.assert_array_equal(emb.grads["weight"], expected)
    emb.forward(np.array([[2]]))
    emb.backward(np.ones((1, 1, 2)))
    np.testing.assert_array_equal(emb.grads["weight"], [[0, 0], [0, 0], [1, 1], [0, 0]])


def test_embedding_matches_torch_in_float32():
    torch = _torch()
    emb = nn.Embedding(6, 3, rng=1, dtype=np.float32)
    temb = _copy_into(torch.nn.Embedding(6, 3), emb, np.float32)
    x = np.random.default_rng(0).integers(0, 6, (5, 7))
    dy = np.random.default_rng(1).standard_normal((5, 7, 3)).astype(np.float32)
    ty = temb(torch.tensor(x))
    ty.backward(torch.tensor(dy))
    y = emb.forward(x)
    emb.backward(dy)
    assert y.dtype == np.float32 and emb.grads["weight"].dtype == np.float32
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_allclose(emb.grads["weight"], temb.weight.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_positional_embedding_adds_a_row_per_position_and_sums_its_gradient():
    pos = nn.PositionalEmbedding(6, 2, rng=0)
    x = np.zeros((3, 4, 2))
    np.testing.assert_array_equal(
        pos.forward(x), np.broadcast_to(pos.params["weight"][:4], x.shape)
    )
    dy = np.random.default_rng(0).standard_normal(x.shape)
    np.testing.assert_array_equal(pos.backward(dy), dy)
    np.testing.assert_allclose(pos.grads["weight"][:4], dy.sum(axis=0))
    assert not pos.grads["weight"][4:].any()


# ---------------------------------------------------------------- bad input

BAD = [
    (
        lambda: nn.Embedding(5, 2).forward(np.array([[0, 5]])),
        r"^Embedding\(5, 2\): x must be token ids in \[0, 5\), got values in \[0, 5\]",
    ),
    (
        lambda: nn.Embedding(5, 2).forward(np.array([[-1, 2]])),
        r"^Embedding\(5, 2\): x must be token ids in \[0, 5\), got values in \[-1, 2\]",
    ),
    (
        lambda: nn.Embedding(5, 2).forward(np.array([[0.0, 1.0]])),
        r"^Embedding\(5, 2\): x must be integer token ids \(N, …\), got dtype float64",
    ),
    (
        lambda: nn.Embedding(5, 2).forward(np.array([True])),
        r"^Embedding\(5, 2\): x must be integer token ids",
    ),
    (lambda: nn.Embedding(5, 2).forward(3), r"^Embedding\(5, 2\): x must be at least 1-D"),
    (lambda: nn.Embedding(5, 2).forward([[1, 2], [3]]), r"^Embedding\(5, 2\): x must be an array"),
    (
        lambda: _after_forward(nn.Embedding(5, 2), np.array([[1, 2]])).backward(np.ones((1, 2))),
        r"^Embedding\(5, 2\): dy must be of shape \(1, 2, 2\) \(the last forward's output\)",
    ),
    (lambda: nn.Embedding(5, 2).backward(np.ones((1, 2))), r"^Embedding\(5, 2\): backward must"),
    (lambda: nn.Embedding(0, 2), r"^Embedding: num_embeddings must be an int >= 1, got 0"),
    (
        lambda: nn.PositionalEmbedding(3, 4).forward(np.zeros((2, 4, 4))),
        r"^PositionalEmbedding\(3, 4\): x must be \(N, L, 4\) with L ≤ 3 \(max_len\), got shape \(2, 4, 4\)",
    ),
    (
        lambda: nn.PositionalEmbedding(3, 4).forward(np.zeros((2, 3))),
        r"^PositionalEmbedding\(3, 4\): x must be 3-D \(N, L, 4\), L ≤ 3",
    ),
    (
        lambda: nn.Linear(3, 2).forward(np.zeros((2, 5, 4))),
        r"^Linear\(3, 2\): x must have 3 features in its last axis \(N, …, 3\), got shape \(2, 5, 4\)$",
    ),
    (
        lambda: nn.SoftmaxCrossEntropy().forward(np.zeros((2, 3, 4)), np.zeros((2, 4), int)),
        r"^SoftmaxCrossEntropy\(\): target must be of shape \(2, 3\), one class per position of logits \(2, 3, 4\), got shape \(2, 4\)",
    ),
    (
        lambda: nn.SoftmaxCrossEntropy().forward(np.zeros((2, 0, 4)), np.zeros((2, 0), int)),
        r"^SoftmaxCrossEntropy\(\): logits must have at least one row",
    ),
]


@pytest.mark.parametrize("call,message", BAD, ids=[m[1:50] for _, m in BAD])
def test_bad_input_raises_a_value_error_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_astype_and_sequential_keys():
    model = nn.Sequential(nn.Embedding(5, 4), nn.SelfAttention(4)).astype(np.float32)
    keys = ["0.weight"] + [f"1.{p}.{w}" for p in ("q", "k", "v", "out") for w in ("weight", "bias")]
    assert list(model.params) == keys
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert model.forward(np.array([[1, 2, 3]])).dtype == np.float32
    assert repr(model) == "Sequential(Embedding(5, 4), SelfAttention(4))"
