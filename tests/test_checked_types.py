"""Behaviour the type checker (mypy, .ci/run) pointed at: each test failed before its fix."""

import numpy as np
import pytest

from derivations.elementwise import unary_math


@pytest.mark.parametrize("slope", [np.complex128(0.2 + 1j), np.complex64(0.2), 0.2 + 0j])
def test_leaky_relu_refuses_a_complex_slope(slope):
    # a numpy complex is an np.number: it passed the check and lost its imaginary part
    with pytest.raises(ValueError, match="leaky_relu: negative_slope must be a number"):
        unary_math("leaky_relu", shape=(1, 1), negative_slope=slope)


@pytest.mark.parametrize("slope", [np.float32(0.25), np.int64(2), -0.5, 3])
def test_leaky_relu_takes_a_real_slope(slope):
    m = unary_math("leaky_relu", shape=(1, 1), negative_slope=slope)
    assert m.params["negative_slope"] == float(slope)


@pytest.mark.parametrize("slope", [10**400, -(10**400), np.inf, np.nan])
def test_leaky_relu_refuses_a_slope_out_of_range(slope):
    # an int past float's range was a TypeError from np.isfinite
    with pytest.raises(ValueError, match="negative_slope must be between -10 and 10"):
        unary_math("leaky_relu", shape=(1, 1), negative_slope=slope)
