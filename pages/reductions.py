from ui.boot import through_router
from ui.lesson import lesson_page

through_router()

lesson_page(
    __file__,
    "A whole matrix collapses to one number. Every entry contributed once, so the gradient is "
    "the upstream value copied to every cell (and divided by the count, for the mean).",
)
