"""The trusted judge: every grade cell's verdict and message, decided outside the student's kernel.

Anything in a student's kernel can be patched (numpy, the helpers, assert handling, IPython's
error display), so the kernel's own test results count for nothing but tamper detection. Here
the submission's graded cell, with the student's own helper cells above it, is run in a fresh
sandboxed process (``judge_runtime.runner``) on hidden cases; plain JSON numbers come back, and the
verdicts are computed in this process, where no student code runs:

* each step on its own: the statements that assign the step's name
  (``judge_runtime.steps``, whatever the comments) are run on the true values of everything upstream
  and compared with the true value, so one mistake costs that step only and a step that raises or
  has the wrong shape fails alone; a function without the step's variable is judged on what it
  returns;
* the returned gradients against the true ones, and a short training run, which this process
  runs (``course.judge.training``): the runner only sums the gradients of each epoch's calls.

The judge fails closed: no answer, a timeout, an oversized or malformed answer fails every
affected cell and says why in :attr:`Judgement.problems`, which the grader turns into a flag.
"""
