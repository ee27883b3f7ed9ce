"""Lab 1's part of the trusted judge: a backprop for one sample, judged step by step
(``labs.backprop_judge``) on the hidden cases of ``labs/lab1/hidden.py``, and the student's
own numerical gradient, on hidden smooth functions (``labs.numerical_gradient_judge``)."""

from __future__ import annotations

from helpers import backprop_spec, lab1
from labs.backprop_judge import BackpropJudge
from labs.lab1.hidden import hidden_cases, hidden_smooth_cases
from labs.lab1.misconceptions import MISCONCEPTIONS
from labs.numerical_gradient_judge import numerical_gradient_judge

JUDGE = BackpropJudge(lab1, backprop_spec.LAB1, hidden_cases, MISCONCEPTIONS)
NUMERICAL_GRADIENT_JUDGE = numerical_gradient_judge(hidden_smooth_cases)
