"""engine.datasets (the 2-D toy sets, the committed digits, the split) and engine.train (the
training loop the network pages and bench/nn.py share)."""

import sys

import numpy as np
import pytest

from engine import datasets, nn, train

NAMES = list(datasets.DATASETS_2D)


# ---------------------------------------------------------------- 2-D toy sets


@pytest.mark.parametrize("name", NAMES)
def test_2d_sets_have_the_documented_shapes_classes_and_seeding(name):
    X, y = datasets.make_2d(name, n=101, noise=0.2, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    assert sorted(np.bincount(y).tolist()) == [50, 51]  # classes 0 and 1, as even as n allows
    assert np.abs(X).max() < 3
    X2, y2 = getattr(datasets, name)(101, 0.2, 3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = datasets.make_2d(name, n=101, noise=0.2, seed=4)
    assert not np.array_equal(X, X3)
    assert len(np.unique(y[:20])) == 2  # shuffled, not one class after the other


def test_2d_sets_without_noise_have_their_geometry():
    X, y = datasets.circles(200, noise=0.0)
    np.testing.assert_allclose(np.hypot(*X.T), np.where(y == 0, 1.0, 0.5))
    X, y = datasets.two_moons(200, noise=0.0)
    centre = np.where(y[:, None] == 0, [[-0.5, -0.25]], [[0.5, 0.25]])
    np.testing.assert_allclose(np.hypot(*(X - centre).T), 1.0)
    assert X[y == 0, 1].min() == pytest.approx(-0.25)  # the upper moon's ends
    assert X[y == 1, 1].max() == pytest.approx(0.25)  # the lower moon's ends
    X, y = datasets.xor(200, noise=0.0)
    np.testing.assert_array_equal(y, (X[:, 0] > 0) != (X[:, 1] > 0))
    X, y = datasets.spirals(200, noise=0.0)
    r = np.hypot(*X.T)
    assert r.min() == pytest.approx(0.2) and r.max() == pytest.approx(1.4)
    X, y = datasets.blobs(90, noise=0.0, classes=3)
    angles = 2 * np.pi * y / 3
    np.testing.assert_allclose(X, np.column_stack([np.cos(angles), np.sin(angles)]), atol=1e-15)
    assert np.bincount(y).tolist() == [30, 30, 30]


@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda: datasets.make_2d("moons"),
            r"make_2d: name must be one of two_moons, circles, spirals, xor, blobs, got 'moons'",
        ),
        (
            lambda: datasets.make_2d("xor", n=2001),
            r"xor: n must be an int in \[2, 2000\], got 2001",
        ),
        (lambda: datasets.make_2d("circles", n=1), r"circles: n must be an int in \[2, 2000\]"),
        (lambda: datasets.two_moons(n=10.0), r"two_moons: n must be an int"),
        (
            lambda: datasets.spirals(noise=-0.1),
            r"spirals: noise must be a number in \[0, 1\], got -0.1",
        ),
        (lambda: datasets.xor(noise=2), r"xor: noise must be a number in \[0, 1\]"),
        (lambda: datasets.circles(seed=-1), r"circles: seed must be an int >= 0, got -1"),
        (lambda: datasets.blobs(classes=9), r"blobs: classes must be an int in \[2, 8\], got 9"),
        (lambda: datasets.blobs(n=3, classes=4), r"blobs: n must be an int in \[4, 2000\], got 3"),
        (lambda: datasets.train_test_split(1), r"train_test_split: n must be an int >= 2, got 1"),
        (
            lambda: datasets.train_test_split(10, test_fraction=1.0),
            r"train_test_split: test_fraction must be a float in \(0, 1\)",
        ),
        (
            lambda: datasets.train_test_split(10, seed=None),
            r"train_test_split: seed must be an int >= 0",
        ),
    ],
)
def test_bad_data_arguments_raise_a_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- digits


def test_digits_load_from_the_committed_file_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # any import of it would now fail
    images, labels = datasets.load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float64
    assert images.min() == 0 and images.max() == 1
    assert np.all(images * 16 == np.round(images * 16))  # counts 0-16, scaled
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert np.bincount(labels).min() >= 170 and set(labels.tolist()) == set(range(10))
    assert datasets.DIGITS_PATH.stat().st_size < 100_000


def test_digits_file_is_scikit_learns_copy():
    sk = pytest.importorskip("sklearn.datasets")
    ref = sk.load_digits()
    images, labels = datasets.load_digits()
    np.testing.assert_array_equal(images * 16, ref.images)
    np.testing.assert_array_equal(labels, ref.target)


def test_train_test_split_is_a_seeded_partition():
    train_idx, test_idx = datasets.train_test_split(1797, test_fraction=0.2, seed=0)
    assert len(test_idx) == 360 and len(train_idx) == 1437  # ⌈0.2 · 1797⌉, as scikit-learn
    assert train_idx.dtype == np.int64
    assert sorted(np.concatenate([train_idx, test_idx]).tolist()) == list(range(1797))
    again = datasets.train_test_split(1797, test_fraction=0.2, seed=0)
    np.testing.assert_array_equal(again[1], test_idx)
    assert not np.array_equal(datasets.train_test_split(1797, seed=1)[1], test_idx)
    assert [len(p) for p in datasets.train_test_split(30, test_fraction=0.1)] == [27, 3]
    assert [len(p) for p in datasets.train_test_split(2, test_fraction=0.01)] == [1, 1]


# ---------------------------------------------------------------- the training loop


def _tiny_problem():
    X, y = datasets.blobs(50, noise=0.3, seed=1, classes=3)
    model = nn.Sequential(nn.Linear(2, 4, rng=0), nn.Tanh(), nn.Linear(4, 3, rng=1))
    return X, y, model


def test_train_epoch_returns_the_mean_loss_over_the_samples():
    X, y, model = _tiny_problem()
    loss = nn.SoftmaxCrossEntropy()
    full = loss.forward(model.forward(X), y)
    # lr 0 leaves the weights alone, so the batches' losses weighted by size are the full loss
    got = train.train_epoch(model, loss, nn.SGD(model, lr=0.0), X, y, 16, np.random.default_rng(0))
    assert got == pytest.approx(full, rel=1e-12)


def test_train_epoch_visits_every_sample_once_in_shuffled_batches():
    X, y, model = _tiny_problem()
    seen = []

    class Recorder(nn.SGD):
        def step(self):
            seen.append(len(model.layers[0]._x))
            super().step()

    before = model.params["0.weight"].copy()
    train.train_epoch(model, nn.SoftmaxCrossEntropy(), Recorder(model, lr=0.1), X, y, 16, 0)
    assert seen == [16, 16, 16, 2]
    assert not np.array_equal(model.params["0.weight"], before)


def test_training_lowers_the_loss_and_predict_and_accuracy_agree():
    X, y, model = _tiny_problem()
    loss, opt, rng = nn.SoftmaxCrossEntropy(), nn.Adam(model, lr=0.05), np.random.default_rng(0)
    losses = [train.train_epoch(model, loss, opt, X, y, 10, rng) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    pred = train.predict(model, X, batch_size=7)
    assert pred.dtype == np.int64 and pred.shape == (50,)
    np.testing.assert_array_equal(pred, model.forward(X).argmax(axis=1))
    assert train.accuracy(model, X, y, batch_size=7) == pytest.approx(np.mean(pred == y))
    assert train.accuracy(model, X, y) > 0.9


@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda m, X, y: train.train_epoch(
                m, nn.SoftmaxCrossEntropy(), nn.SGD(m, lr=0.1), X, y[:-1], 8, 0
            ),
            r"train_epoch: y must be of shape \(50,\)",
        ),
        (
            lambda m, X, y: train.train_epoch(
                m, nn.SoftmaxCrossEntropy(), nn.SGD(m, lr=0.1), X, y, 0, 0
            ),
            r"train_epoch: batch_size must be an int >= 1, got 0",
        ),
        (lambda m, X, y: train.predict(m, X[:0]), r"predict: X must hold at least one sample"),
        (lambda m, X, y: train.accuracy(m, X, y[:3]), r"accuracy: y must be of shape \(50,\)"),
        (
            lambda m, X, y: train.digits_cnn(kernel_size=5, padding=0, pool=5),
            r"digits_cnn: .* must leave at least one pixel",
        ),
    ],
)
def test_bad_training_arguments_raise_a_value_error(call, message):
    X, y, model = _tiny_problem()
    with pytest.raises(ValueError, match=message):
        call(model, X, y)
