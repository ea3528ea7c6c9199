"""Typed maths: what a learner types, read safely into sympy, and evaluated without compiling.

- ``grammar``: the functions a learner can call and the bounds every check enforces;
  ``parse_tokens``, ``parse_tree``, ``parse_messages``: characters and tokens, the syntax tree
  and the sympy expression built from it, the pieces of the messages; ``parse``: the checks in
  order, the building in a worker process under a deadline (``workers``), the LaTeX preview.
- ``functions``: the sympy functions typed maths shares with the lessons (max pooling's
  first maximum, attention's softmax entry); ``window_max``: a pooling window's max, cheap to
  send to a worker.
- ``numeric``: numbers from a sympy tree, one numpy operation per node (never compiled).
- ``typed_names``: the names a learner types for symbols, and terms printed back that way.
- ``graph`` and ``graph_*``: a typed expression as a computational graph, its numbers forward
  and backward, the backward pass as steps, their text, and the gradients as formulas.

Depends on sympy (and its mpmath), numpy and ``workers`` only: never on the lessons
(``derivations``), answer checking (``grading``) or the app (``ui``).
"""
