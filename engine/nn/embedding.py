"""Embeddings for sequence models: token ids → vectors (Embedding) and a learned vector per
position added to them (PositionalEmbedding), which attention needs to tell positions apart."""

from __future__ import annotations

import numpy as np

from .module import Module, _count, _float_dtype, _generator, _shape


class _Table(Module):
    """A layer whose one parameter ``"weight"`` is a (rows, dim) table, initialised N(0, 1) as
    ``torch.nn.Embedding``'s."""

    def __init__(self, rows: int, dim: int, rng, dtype) -> None:
        super().__init__(_float_dtype(type(self).__name__, dtype))
        gen = _generator(type(self).__name__, rng)
        self.params = {"weight": gen.standard_normal((rows, dim)).astype(self.dtype)}
        self.grads = {"weight": np.zeros_like(self.params["weight"])}


class Embedding(_Table):
    """y[…] = W[x[…]]: token ids x (N, …) of ints in [0, num_embeddings) → (N, …, embedding_dim);
    W: (num_embeddings, embedding_dim), as ``torch.nn.Embedding``.

    backward scatter-adds dy into the rows that were read (a token used twice gets both
    gradients) and returns None: integer ids have no gradient, so this is a first layer.
    """

    def __init__(self, num_embeddings, embedding_dim, *, rng=None, dtype=np.float64):
        self.num_embeddings = _count("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = _count("Embedding", "embedding_dim", embedding_dim)
        super().__init__(self.num_embeddings, self.embedding_dim, rng, dtype)

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"

    def _ids(self, x) -> np.ndarray:
        try:
            x = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            self._fail("x", "be an array of token ids", f"{type(exc).__name__}: {exc}")
        if x.dtype.kind not in "iu":
            self._fail("x", "be integer token ids (N, …)", f"dtype {x.dtype}")
        if x.ndim < 1:
            self._fail("x", "be at least 1-D (N, …), token ids", _shape(x))
        n = self.num_embeddings
        if x.size and (x.min() < 0 or x.max() >= n):
            self._fail("x", f"be token ids in [0, {n})", f"values in [{x.min()}, {x.max()}]")
        return x.astype(np.intp, copy=False)

    def forward(self, x):
        """x: (N, …) ints → (N, …, embedding_dim)."""
        ids = self._ids(x)
        return self._cache(ids, self.params["weight"][ids])

    def backward(self, dy, *, input_grad=True):
        """Sets dW[t] = Σ of dy over every position holding token t; returns None."""
        if self._x is None:
            self._fail("backward", "come after a forward (nothing is cached)", _shape(dy))
        w = self.params["weight"]
        dy = np.asarray(dy)
        if dy.dtype.kind not in "biuf":
            self._fail("dy", "be an array of real numbers", f"dtype {dy.dtype}")
        if dy.shape != self._out_shape:
            self._fail(
                "dy", f"be of shape {self._out_shape} (the last forward's output)", _shape(dy)
            )
        g = self.grads["weight"]
        g.fill(0)
        # unbuffered: a row read twice adds both (g[ids] += dy would keep only one of them)
        np.add.at(g, self._x.reshape(-1), dy.reshape(-1, w.shape[1]).astype(w.dtype, copy=False))
        return None


class PositionalEmbedding(_Table):
    """y = x + W[:L]: a learned vector per position, for x: (N, L, embed_dim) with
    L ≤ max_len; W: (max_len, embed_dim), initialised N(0, 1). As torch's
    ``x + nn.Embedding(max_len, embed_dim)(torch.arange(L))`` (GPT-2's position embedding).

    Without it a self-attention layer cannot tell positions apart: permuting its input permutes
    its output, so it could not learn to reverse or sort a sequence.
    """

    def __init__(self, max_len, embed_dim, *, rng=None, dtype=np.float64):
        self.max_len = _count("PositionalEmbedding", "max_len", max_len)
        self.embed_dim = _count("PositionalEmbedding", "embed_dim", embed_dim)
        super().__init__(self.max_len, self.embed_dim, rng, dtype)

    def __repr__(self) -> str:
        return f"PositionalEmbedding({self.max_len}, {self.embed_dim})"

    def forward(self, x):
        """x: (N, L, embed_dim) → x + W[:L], the same shape."""
        m, e = self.max_len, self.embed_dim
        x = self._input(x, 3, f"(N, L, {e}), L ≤ {m}")
        if x.shape[2] != e or x.shape[1] > m:
            self._fail("x", f"be (N, L, {e}) with L ≤ {m} (max_len)", _shape(x))
        return self._cache(x, x + self.params["weight"][: x.shape[1]])

    def backward(self, dy, *, input_grad=True):
        """Sets dW[:L] = Σ_n dy[n], dW[L:] = 0; dx = dy."""
        dy = self._upstream(dy)
        g = self.grads["weight"]
        g[dy.shape[1] :] = 0
        dy.sum(axis=0, out=g[: dy.shape[1]])
        return dy if input_grad else None
