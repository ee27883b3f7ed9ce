"""Lab 1, "Classification by Neural Network", as the course's tools know it."""

from course.labs import Demo, LabDeclaration
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from labs.lab1.judge import JUDGE, NUMERICAL_GRADIENT_JUDGE

LAB = LabDeclaration(
    name="lab1",
    judge=JUDGE,
    demo=Demo(cohort=DEMO_COHORT, write=write_cohort),
    more_judges=(NUMERICAL_GRADIENT_JUDGE,),
)
