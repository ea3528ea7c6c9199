"""Random formulas from the parser's grammar, as text (a hypothesis strategy): numbers in every
notation, x, the operators, ^ and **, every function, unary minus, conditions in brackets."""

from hypothesis import strategies as st

from mathtext.grammar import FUNCTIONS

_LEAVES = st.sampled_from(["x", "x", "x", "2", "3", "0.5", "1.5", "1e-1", "2.5E0"])
_FUNCS = st.sampled_from(sorted(FUNCTIONS))
_POWERS = st.sampled_from(["2", "3", "-1", "-2", "0.5", "(1/3)", "(3/2)"])


def _extend(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
        st.tuples(children, st.sampled_from(["^", "**"]), _POWERS).map(
            lambda t: f"({t[0]}){t[1]}{t[2]}"
        ),
        st.tuples(_FUNCS, children).map(lambda t: f"{t[0]}({t[1]})"),
        children.map(lambda c: f"-({c})"),
        st.tuples(children, st.sampled_from([">", ">=", "<", "<="]), children, children).map(
            lambda t: f"[{t[0]} {t[1]} {t[2]}]*({t[3]})"
        ),
    )


FORMULAS = st.recursive(_LEAVES, _extend, max_leaves=10)
