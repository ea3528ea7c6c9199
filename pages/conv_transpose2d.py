from ui.boot import through_router
from ui.lesson import lesson_page

through_router()

lesson_page(
    __file__,
    "Each input pixel stamps a scaled copy of the kernel into a larger output. It is an ordinary "
    "convolution of the zero-padded input with the rotated kernel — and its gradients are convolutions too.",
)
