from ui.boot import through_router
from ui.lesson import lesson_page

through_router()

lesson_page(
    __file__,
    "Y = f(X) entry by entry, so each gradient entry has one term: dX = dY ⊙ f′(X), with f′ "
    "written in terms of Y where the notes do. Pick the function in the sidebar.",
)
