"""Layers, a loss and two optimisers for whole networks, built on the engine's functional ops.

As in cs231n's layers and minitorch's modules: ``forward(x)`` caches what ``backward`` needs,
``backward(dy)`` returns dx and *sets* ``grads``, and ``params`` holds plain arrays that an
optimiser updates in place. ``Sequential`` names them as torch's ``state_dict`` does
(``"0.weight"``), so weights copy across to ``torch.nn.Sequential`` key by key (Linear's weight is
(in, out), the transpose of torch's).

Each layer checks its input once, naming itself and the shapes, then runs the functional op.
"""

from ..optim import SGD, Adam
from .attention import SelfAttention
from .embedding import Embedding, PositionalEmbedding
from .layers import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sigmoid, Tanh
from .loss import SoftmaxCrossEntropy
from .module import INITS, Module, Sequential
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm, Residual

__all__ = [
    "INITS",
    "Module",
    "Linear",
    "Conv2d",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "Sequential",
    "SoftmaxCrossEntropy",
    "SGD",
    "Adam",
    "SelfAttention",
    "Embedding",
    "PositionalEmbedding",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "Residual",
]
