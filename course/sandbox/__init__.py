"""Run untrusted student code in a bubblewrap sandbox.

What the sandboxed process sees: the system's programs and libraries (read-only), this Python
environment and the ``helpers`` and ``judge_runtime`` packages (read-only), and a private
scratch: a tmpfs of its own
(``/course-scratch``, also its ``/tmp``, ``HOME`` and ``TMPDIR``), sized in bytes and files, that
disappears with the sandbox. Its working folder, ``/course-scratch/work``, starts as a copy
of the ``inputs`` folder (the student's own files); whatever it
writes there is never seen by the grader. The grader shares with it only the folders given as
``shared`` (a kernel's IPC sockets, on a small tmpfs of their own). Not the course folder (no
``source/``, no gradebook, no other submissions, no feedback), not the network, not the other
processes. It runs as an unprivileged user with rlimits on memory, CPU time, processes, file
size and open files, inside per-student control groups where the machine has them
(``course.sandbox.cgroups``); wall-clock limits are the caller's (nbgrader's per-cell timeout,
``course grade``'s per-student limit).

The package, one job a module: ``command`` (the bubblewrap command line), ``uids`` (the
unprivileged uid of each grading process), ``mounts`` (its private mount namespace), ``files``
(the font list and withheld-module stand-in every sandbox starts from), ``kernel`` (sandboxed
grading kernels), ``config`` (the limits as settings), ``probe`` (can this machine sandbox?) and
``errors`` (what it says when it cannot).
"""
