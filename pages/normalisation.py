from ui.boot import through_router
from ui.lesson import lesson_page

through_router()

lesson_page(
    __file__,
    "Batch norm and layer norm make every output depend on a whole column (or row) of inputs, "
    "through its mean and variance: their Jacobians are dense in blocks, not diagonal. A "
    "residual block adds its input back, so the gradient always has the identity path. Pick "
    "the operation in the sidebar.",
)
