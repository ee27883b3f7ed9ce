"""Lab 3, "Deeper networks from layers", as the course's tools know it."""

from course.labs import Demo, LabDeclaration
from labs.lab3.cohort import DEMO_COHORT, write_cohort
from labs.lab3.judge import JUDGES

LAB = LabDeclaration(
    name="lab3",
    judge=JUDGES[0],
    demo=Demo(cohort=DEMO_COHORT, write=write_cohort),
    more_judges=JUDGES[1:],
)
