"""How fair the step comparison is: pass rates of correct and wrong step values on random cases.

For each lab, on random cases of every hidden size (Lab 1: one sample; Lab 2: batches of the
hidden sizes), each step of the instructor's solution is run as the judge runs it (on the true
values of everything before it, ``judge_runtime.steps``), once in float64 and once with every input
and true upstream value cast to float32, and each named misconception's value is computed on the
same inputs. Each is compared with the true value by the judge's own rule
(``helpers.step_verdicts.compare_values``). Prints, per lab: how many step values of each kind
there were and the fraction passed (correct forms must pass at least 99.9 %, misconceptions fail
at least 99.9 %), and the smallest margin between the two (the worst correct error and the smallest
misconception error, in units of the tolerance).

    python bench/tolerance.py [CASES]   (default 2000 per size)
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course.notebooks import cell_by_grade_id
from helpers import backprop_spec, lab2, step_verdicts
from helpers.gradcheck import relative_errors
from judge_runtime.steps import STEPS_FILE, compile_plan, split_steps
from labs import cohorts
from labs.lab1.judge import JUDGE as LAB1_JUDGE
from labs.lab2.hidden import POSSIBLE_SIZES as LAB2_SIZES
from labs.lab2.judge import JUDGE as LAB2_JUDGE

ROOT = Path(__file__).resolve().parents[1]
# A misconception whose value is within this of the solution's (symmetric relative error) is
# the same answer on that case (``averaged twice`` on a batch of one, say): left out.
EQUIVALENT = 1e-6
LABS = {
    "lab1": (LAB1_JUDGE, "classification.ipynb", (None,)),
    "lab2": (LAB2_JUDGE, "vectorized.ipynb", LAB2_SIZES),
}


def solution_steps(lab: str, judge):
    """The step functions of the solution's backprop (``judge_runtime.steps.JudgedFunctions``)."""
    source = nbformat.read(ROOT / "source" / lab / LABS[lab][1], as_version=4)
    namespace: dict = {}
    exec("import numpy as np\n" + cell_by_grade_id(source, "provided_functions").source, namespace)
    code = cohorts.solution_code(cell_by_grade_id(source, "backprop").source)
    plan = split_steps(code, "backprop", judge.spec.step_names, judge.spec.forward)
    return compile_plan(plan, STEPS_FILE, namespace)


def step_value(functions, name: str, arguments: dict, truth: dict, dtype):
    recorded: dict = {}

    def record(index, names, variables):
        recorded.update({n: variables[n] for n in names if n in variables})

    def true_value(known):
        return np.array(truth[known], dtype=dtype)

    with np.errstate(all="ignore"):
        functions.step(name, functions.plan.judge_points())(
            **{k: v.astype(dtype) for k, v in arguments.items()},
            _course_true_=true_value,
            _course_record_=record,
            _course_failed_=lambda error, owns: None,
        )
    return recorded.get(name)


def worst_error(name: str, truth: np.ndarray, value) -> float:
    """The comparison's error in units of the tolerance (inf when the shape differs)."""
    array = np.asarray(value, dtype=np.float64)
    if array.shape != truth.shape:
        return np.inf
    return (
        float(np.max(step_verdicts.step_errors(truth, array), initial=0.0))
        / step_verdicts.TOLERANCE
    )


def cases(lab: str, judge, size, n: int, rng):
    for _ in range(n):
        values = backprop_spec.random_case(rng) if size is None else lab2.random_batch(rng, size)
        arguments = dict(zip(judge.spec.arguments, values, strict=True))
        yield arguments, judge.spec.truth(arguments)


def measure(lab: str, n: int) -> None:
    judge, _, sizes = LABS[lab]
    functions = solution_steps(lab, judge)
    rng = np.random.default_rng(20261202)
    errors: dict[str, list[float]] = {"float64": [], "float32": [], "misconceptions": []}
    equivalent = 0  # misconception values equal to the solution's on a case (n = 1, say)
    for size in sizes:
        for arguments, truth in cases(lab, judge, size, n, rng):
            inputs = {**arguments, **truth}
            for name in judge.spec.step_names:
                right = step_value(functions, name, arguments, truth, np.float64)
                errors["float64"].append(worst_error(name, truth[name], right))
                errors["float32"].append(
                    worst_error(
                        name, truth[name], step_value(functions, name, arguments, truth, np.float32)
                    )
                )
                for m in judge.misconceptions:
                    if m.step != name or m.crash:
                        continue
                    try:
                        with np.errstate(all="ignore"):
                            wrong = m.formula(inputs)
                    except (ValueError, IndexError):  # a shape that cannot combine: raises
                        wrong = None
                    if (
                        wrong is not None
                        and np.shape(wrong) == np.shape(right)
                        and np.max(relative_errors(right, wrong), initial=0.0) <= EQUIVALENT
                    ):
                        equivalent += 1
                    elif wrong is not None:
                        errors["misconceptions"].append(worst_error(name, truth[name], wrong))
    print(
        f"{lab} ({n} cases per size, sizes {sizes}; misconception values equal to the "
        f"solution's on their case, left out: {equivalent}):"
    )
    for kind, found in errors.items():
        found_array = np.array(found)
        passed = float(np.mean(found_array <= 1.0))
        rate = passed if kind != "misconceptions" else 1 - passed
        verb = "pass" if kind != "misconceptions" else "fail"
        extreme = np.max(found_array) if kind != "misconceptions" else np.min(found_array)
        print(
            f"  {kind:15s} {len(found):7d} values, {rate:.4%} {verb}; "
            f"{'worst' if verb == 'pass' else 'closest'} error {extreme:.2e} x tolerance"
        )


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    for lab in LABS:
        measure(lab, count)
