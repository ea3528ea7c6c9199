from ui.boot import through_router
from ui.lesson import lesson_page

through_router()

lesson_page(
    __file__,
    "Type any f(x) in the sidebar — `x**2*sin(x)`, `log(1+exp(x))`, `x*sigmoid(x)`, "
    "`tanh(x)^2` — and get the lesson the built-in activations get: sympy derives f′ and "
    "simplifies it, and dX = dY ⊙ f′(X) is written out entry by entry. Your text is parsed, "
    "never run as code. In the verification, the engine row evaluates your f and f′ on the "
    "numbers, and finite differences check f′ against f.",
)
