"""Small data sets that need no download: five 2-D toy sets for the MLP page and the 8×8 digits.

The 2-D sets are centred near the origin and fit in about [−1.5, 1.5]², so an MLP with default
initialisation trains on them without rescaling. Each is ``(n, noise, seed) → (X, y)`` with
X float64 (n, 2), y int64 (n,), the classes as even in size as n allows, the rows shuffled.

The digits are scikit-learn's copy of the UCI Optical Recognition of Handwritten Digits test set
(E. Alpaydin and C. Kaynak, 1998): 1,797 images of 8×8 pixels, each pixel a count 0–16 of the
set pixels in a 4×4 block of the original 32×32 bitmap. ``data/digits.npz`` holds them as uint8.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

MAX_POINTS = 2000  # a 2-D set's largest n: enough to see a boundary, small enough to train live
MAX_BLOB_CLASSES = 8
DIGITS_PATH = Path(__file__).resolve().parent.parent / "data" / "digits.npz"


def _check(fn: str, n, noise, seed, min_n: int = 2) -> None:
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if not is_int(n) or not min_n <= n <= MAX_POINTS:
        raise ValueError(f"{fn}: n must be an int in [{min_n}, {MAX_POINTS}], got {n!r}")
    ok = isinstance(noise, (int, float, np.integer, np.floating)) and not isinstance(noise, bool)
    if not ok or not 0 <= noise <= 1:
        raise ValueError(f"{fn}: noise must be a number in [0, 1], got {noise!r}")
    if not is_int(seed) or seed < 0:
        raise ValueError(f"{fn}: seed must be an int >= 0, got {seed!r}")


def _sizes(n: int, k: int) -> list[int]:
    """k class sizes summing to n, differing by at most one."""
    return [n // k + (i < n % k) for i in range(k)]


def _finish(rng, parts: list[np.ndarray], noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Stack the classes' points, add N(0, noise²) to every coordinate, shuffle the rows."""
    x = np.concatenate(parts).astype(np.float64)
    y = np.concatenate([np.full(len(p), c, dtype=np.int64) for c, p in enumerate(parts)])
    x += noise * rng.standard_normal(x.shape)
    order = rng.permutation(len(y))
    return x[order], y[order]


def two_moons(n=200, noise=0.1, seed=0):
    """Two interleaved half circles of radius 1 (scikit-learn's make_moons), centred: class 0
    the upper moon, class 1 the lower. X: (n, 2), y: (n,)."""
    _check("two_moons", n, noise, seed)
    rng = np.random.default_rng(seed)
    n0, n1 = _sizes(n, 2)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    upper = np.column_stack([np.cos(t0) - 0.5, np.sin(t0) - 0.25])
    lower = np.column_stack([0.5 - np.cos(t1), 0.25 - np.sin(t1)])
    return _finish(rng, [upper, lower], noise)


def circles(n=200, noise=0.1, seed=0):
    """Two concentric circles: class 0 of radius 1, class 1 of radius 0.5. X: (n, 2), y: (n,)."""
    _check("circles", n, noise, seed)
    rng = np.random.default_rng(seed)
    parts = []
    for radius, m in zip((1.0, 0.5), _sizes(n, 2), strict=True):
        t = np.linspace(0, 2 * np.pi, m, endpoint=False)
        parts.append(radius * np.column_stack([np.cos(t), np.sin(t)]))
    return _finish(rng, parts, noise)


def spirals(n=200, noise=0.1, seed=0):
    """Two interleaved spiral arms of 1¼ turns, radius 0.2 → 1.4; class c is turned by c·π.
    Neighbouring arms lie ~0.48 apart, so noise 0.1 blurs them without merging. X: (n, 2), y: (n,)."""
    _check("spirals", n, noise, seed)
    rng = np.random.default_rng(seed)
    parts = []
    for c, m in enumerate(_sizes(n, 2)):
        t = np.linspace(0, 1, m)
        r, theta = 0.2 + 1.2 * t, 2.5 * np.pi * t + c * np.pi
        parts.append(np.column_stack([r * np.cos(theta), r * np.sin(theta)]))
    return _finish(rng, parts, noise)


def xor(n=200, noise=0.1, seed=0):
    """Points uniform in [−1, 1]², class 1 where the two coordinates' signs differ (the XOR of
    x₁ > 0 and x₂ > 0); the noise is added after labelling. X: (n, 2), y: (n,)."""
    _check("xor", n, noise, seed)
    rng = np.random.default_rng(seed)
    parts = []
    for c, m in enumerate(_sizes(n, 2)):
        p = rng.uniform(0, 1, (m, 2))
        # quadrants (+,+) and (−,−) for class 0, (+,−) and (−,+) for class 1, alternating
        flip = np.where(np.arange(m) % 2 == 0, 1.0, -1.0)
        p[:, 0] *= flip
        p[:, 1] *= flip * (1 if c == 0 else -1)
        parts.append(p)
    return _finish(rng, parts, noise)


def blobs(n=200, noise=0.1, seed=0, classes=2):
    """``classes`` Gaussian blobs of standard deviation ``noise`` (2 to 8 classes), centred on the
    unit circle at angles 2πc/classes: class c around (cos, sin) of its angle. X: (n, 2), y: (n,)."""
    ok = isinstance(classes, (int, np.integer)) and not isinstance(classes, bool)
    if not ok or not 2 <= classes <= MAX_BLOB_CLASSES:
        raise ValueError(
            f"blobs: classes must be an int in [2, {MAX_BLOB_CLASSES}], got {classes!r}"
        )
    _check("blobs", n, noise, seed, min_n=int(classes))
    rng = np.random.default_rng(seed)
    parts = []
    for c, m in enumerate(_sizes(n, int(classes))):
        a = 2 * np.pi * c / classes
        parts.append(np.tile([np.cos(a), np.sin(a)], (m, 1)))
    return _finish(rng, parts, noise)


DATASETS_2D = {
    "two_moons": two_moons,
    "circles": circles,
    "spirals": spirals,
    "xor": xor,
    "blobs": blobs,
}


def make_2d(name, n=200, noise=0.1, seed=0):
    """The 2-D set called ``name`` (a key of DATASETS_2D; blobs with 2 classes). X: (n, 2), y: (n,)."""
    if name not in DATASETS_2D:
        raise ValueError(f"make_2d: name must be one of {', '.join(DATASETS_2D)}, got {name!r}")
    return DATASETS_2D[name](n, noise, seed)


def load_digits():
    """The 1,797 8×8 digits: images float64 (1797, 8, 8) in [0, 1] (count/16), labels int64."""
    with np.load(DIGITS_PATH) as f:
        images, labels = f["images"], f["labels"]
    return images.astype(np.float64) / 16.0, labels.astype(np.int64)


def train_test_split(n, test_fraction=0.2, seed=0):
    """A seeded random split of range(n): (train indices, test indices), int64, the test part
    ⌈test_fraction·n⌉ long (as scikit-learn's), each part at least one index."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 2:
        raise ValueError(f"train_test_split: n must be an int >= 2, got {n!r}")
    ok = isinstance(test_fraction, (float, np.floating)) and 0 < test_fraction < 1
    if not ok:
        raise ValueError(
            f"train_test_split: test_fraction must be a float in (0, 1), got {test_fraction!r}"
        )
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"train_test_split: seed must be an int >= 0, got {seed!r}")
    # the 1e-9 keeps 0.1·30 = 3.0000000000000004 from rounding up to 4
    n_test = min(max(math.ceil(test_fraction * n - 1e-9), 1), n - 1)
    perm = np.random.default_rng(seed).permutation(n).astype(np.int64)
    return perm[n_test:], perm[:n_test]
