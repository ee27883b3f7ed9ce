"""The judge's runtime: the code that runs a student's function, in the student's own kernel
(the visible checks) and in the grader's sandbox (``python -m judge_runtime.runner``).

It knows no lab and imports nothing from ``course``: what to run, which functions to count and
which steps to split come in the runner's request. ``runner`` answers the grader's request;
``steps`` splits a function into its steps; ``tracing`` counts the lines and arrays a function
runs; ``training`` is the training loop both sides run; ``flag`` is what a judged kernel is
told; ``grading_backend`` is the matplotlib backend of graded kernels. The sandbox binds this
package read-only beside ``helpers``.
"""
