"""Answer checking and feedback: is a typed formula the expected expression, and if not, what
is wrong with it, in words a learner can act on.

``check_answer(text, expected, names)`` → ``Feedback`` (``answers``: parse, prove, refuse by
numbers, explain); ``names_for(derivation)``: the names a question offers (``names``). The
proof is ``proof`` over the canonical form of ``canonical``; the numbers ``points`` (with the
answer as typed, node by node, from ``tree``); the explanations ``slips`` and ``terms``.

Imports typed maths (``mathtext``), sympy and the worker pool; never the lessons
(``derivations``: a derivation is read by its attributes) or the app.
"""

from .answers import Feedback, check_answer
from .names import names_for

__all__ = ["Feedback", "check_answer", "names_for"]
