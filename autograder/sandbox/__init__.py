"""Running: start a kernel in a sandbox, run a submission's cells in it and query its answers.

``bwrap`` and ``cgroups`` describe the sandbox, ``launch`` starts and ends kernels in it (with
``_exec`` as the last step inside), ``template`` forks pre-imported kernels into it,
``kernel`` talks to one, ``query`` asks it for plain data and
``run`` executes a notebook surviving errors, loops and crashes. Depends on
:mod:`autograder.judging`.
"""
