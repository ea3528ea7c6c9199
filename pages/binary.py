from ui.boot import through_router
from ui.lesson import lesson_page

through_router()

lesson_page(
    __file__,
    "Two inputs combined entry by entry. Give N fewer entries (broadcasting) and watch its "
    "gradient become a sum over every place it was copied to: the total derivative.",
)
