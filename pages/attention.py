from ui.boot import through_router
from ui.lesson import lesson_page

through_router()

lesson_page(
    __file__,
    "Every query scores every key, a softmax along each row turns the scores into weights, and "
    "the output mixes the values: O = softmax(QKᵀ/√d)·V. Backwards, three matrix products and "
    "one softmax Jacobian give ∂L/∂Q, ∂L/∂K and ∂L/∂V, each entry derived and checked.",
)
