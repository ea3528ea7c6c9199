from ui.boot import through_router
from ui.lesson import lesson_page

through_router()

lesson_page(
    __file__,
    "Z = XW + b with one sample per row. The shapes alone decide every product: dW = Xᵀ·dZ, "
    "dX = dZ·Wᵀ, db = the column sums of dZ.",
)
