"""What a lab's checks and the grader agree on, whatever the lab.

A kernel graded by `course grade` runs with JUDGED_VARIABLE set: the trusted judge, outside the
kernel, decides every judged test cell, so a check that would only repeat the judge's work
(a training run) may print JUDGED_OUTSIDE instead and return; the grader then takes that cell's
kernel outcome as no opinion. Anywhere else (the student's notebook, nbgrader validate, plain
nbgrader autograde) every check runs in full.
"""

JUDGED_VARIABLE = "COURSE_JUDGED"
JUDGED_OUTSIDE = "This test is checked by the grader, outside this notebook."
