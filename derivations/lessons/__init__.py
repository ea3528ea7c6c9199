"""Lesson writers: each turns an op's Math into the steps a page, the CLI and the exports show.
They only read the Math; the symbolic facts are never recomputed here."""

from .attention import attention_lesson
from .cnn import cnn_lesson
from .conv import conv2d_lesson, conv_transpose2d_lesson
from .dense import linear_lesson, softmax_ce_lesson
from .elementwise import binary_lesson, reduction_lesson, unary_lesson
from .network import mlp_lesson
from .norm import norm_lesson
from .pool import avg_pool2d_lesson, max_pool2d_lesson
from .residual import residual_lesson

__all__ = [
    "attention_lesson",
    "avg_pool2d_lesson",
    "binary_lesson",
    "cnn_lesson",
    "conv2d_lesson",
    "conv_transpose2d_lesson",
    "linear_lesson",
    "max_pool2d_lesson",
    "mlp_lesson",
    "norm_lesson",
    "reduction_lesson",
    "residual_lesson",
    "softmax_ce_lesson",
    "unary_lesson",
]
