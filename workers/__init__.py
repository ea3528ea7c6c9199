"""Worker processes for heavy or untrusted sympy work, run off the serving thread under a
deadline: ``worker`` (the process, its frames, ``run``), ``scheduler`` (the pool shared fairly
by every session) and ``transfer`` (sympy trees sent back without their constructors).

Infrastructure below the maths: it imports sympy and the standard library only, and runs
just the tasks its ``worker.TASKS`` table names (by module path)."""
