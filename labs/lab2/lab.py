"""Lab 2, "Vectorized mini-batch training", as the course's tools know it."""

from course.labs import Demo, LabDeclaration
from labs.lab2.cohort import DEMO_COHORT, write_cohort
from labs.lab2.judge import JUDGE, TRAIN_JUDGE

LAB = LabDeclaration(
    name="lab2",
    judge=JUDGE,
    demo=Demo(cohort=DEMO_COHORT, write=write_cohort),
    more_judges=(TRAIN_JUDGE,),
)
