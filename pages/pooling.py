from ui.boot import through_router
from ui.lesson import lesson_page

through_router()

lesson_page(
    __file__,
    "Max pooling routes each window's gradient to the cell that won; average pooling spreads it "
    "evenly. Pick the operation in the sidebar.",
)
