from ui.boot import through_router
from ui.lesson import lesson_page

through_router()

lesson_page(
    __file__,
    "Scores become probabilities, the loss is −log of the true class's probability, and the "
    "quotient rule gives the famous result: ∂L/∂f = p − onehot(y).",
)
