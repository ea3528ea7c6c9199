from ui.boot import through_router
from ui.lesson import lesson_page

through_router()

lesson_page(
    __file__,
    "A kernel slides over the input; every output is a window times the kernel, plus a bias. "
    "Follow the chain rule to ∂L/∂K, ∂L/∂b and ∂L/∂X, and watch each turn into a convolution.",
)
