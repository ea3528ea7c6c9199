"""Lesson writers: each turns an op's Math into the steps a page, the CLI and the exports show.
They only read the Math; the symbolic facts are never recomputed here."""

from .cnn import cnn_lesson
from .conv import conv2d_lesson, conv_transpose2d_lesson
from .dense import linear_lesson, softmax_ce_lesson
from .elementwise import binary_lesson, reduction_lesson, unary_lesson
from .network import mlp_lesson
from .pool import avg_pool2d_lesson, max_pool2d_lesson

__all__ = [
    "avg_pool2d_lesson",
    "binary_lesson",
    "cnn_lesson",
    "conv2d_lesson",
    "conv_transpose2d_lesson",
    "linear_lesson",
    "max_pool2d_lesson",
    "mlp_lesson",
    "reduction_lesson",
    "softmax_ce_lesson",
    "unary_lesson",
]
