"""What each lab says about its points is true: its first cell's total and the README's row equal
the points of its grade cells, and the most one mistake costs, as both state it, is the most
points of one step plus the tests every step feeds (the whole function and training)."""

from __future__ import annotations

import re

import nbformat
import pytest

from course.grading.admission import labs_of
from course.judge.plan import plan_from_source
from tests.support.paths import ROOT

# The tests a wrong step also fails: the gradients backprop returns, and training with them.
DOWNSTREAM = ("test_backprop_returns_parameter_gradients", "test_training_lowers_loss")
LOOP_TEST = "test_no_loop_over_samples"


def _grade_points(lab: str) -> dict[str, float]:
    (path,) = sorted((ROOT / "source" / lab).glob("*.ipynb"))
    notebook = nbformat.read(path, as_version=4)
    return {
        cell.metadata.nbgrader["grade_id"]: float(cell.metadata.nbgrader["points"])
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }


def _first_cell(lab: str) -> str:
    (path,) = sorted((ROOT / "source" / lab).glob("*.ipynb"))
    return nbformat.read(path, as_version=4).cells[0].source


def _readme_row(lab: str) -> list[str]:
    number = lab.removeprefix("lab")
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith(f"| {number} |")
    ]
    assert len(rows) == 1, f"README.md's points table has no single row for {lab}"
    return rows[0]


def _judged_apart(lab: str) -> set[str]:
    """The tests of the lab's other graded functions (``CheckPlan.others``): judged in a process
    of their own, a mistake there costs their points alone."""
    (path,) = sorted((ROOT / "source" / lab).glob("*.ipynb"))
    plan = plan_from_source(path)
    return set(plan.all_cells()) - set(plan.cells)


def _most_one_mistake_costs(points: dict[str, float], apart: set[str]) -> float:
    """A wrong step costs its points and the downstream tests'; a loop over the samples (right
    values) costs the loop test alone, and a mistake in a function judged ``apart`` its own."""
    steps = {
        g: p
        for g, p in points.items()
        if g.startswith("test_") and g not in (*DOWNSTREAM, LOOP_TEST, *apart)
    }
    wrong_step = max(steps.values()) + sum(points.get(g, 0.0) for g in DOWNSTREAM)
    return max(wrong_step, points.get(LOOP_TEST, 0.0), *(points[g] for g in apart))


@pytest.mark.parametrize("lab", labs_of(ROOT))
def test_the_first_cell_states_the_total_and_the_most_one_mistake_costs(lab):
    points = _grade_points(lab)
    text = " ".join(_first_cell(lab).split())
    total = re.search(r"\((\d+) points[:)]", text)
    assert total and float(total.group(1)) == sum(points.values()), total
    stated = re.search(r"one mistake costs at most (\d+) points", text)
    assert stated, f"{lab}'s first cell does not state what one mistake costs at most"
    assert float(stated.group(1)) == _most_one_mistake_costs(points, _judged_apart(lab))


@pytest.mark.parametrize("lab", labs_of(ROOT))
def test_the_readme_states_the_same_points(lab):
    points = _grade_points(lab)
    *_, total, most = _readme_row(lab)
    assert float(total) == sum(points.values())
    assert float(most) == _most_one_mistake_costs(points, _judged_apart(lab))


def _table_points(lab: str, order: list[str]) -> dict[str, float]:
    """The points the first cell's table gives each grade cell, from its rows
    ``| names | checks | n (times) p |`` or ``| names | checks | p |``, where ``a ... b``
    names every grade cell from a to b in order."""
    stated: dict[str, float] = {}
    for line in _first_cell(lab).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        names = re.findall(r"`(\w+)`", cells[0]) if line.startswith("| `") else []
        if not names:
            continue
        if "..." in cells[0]:
            first, last = names
            names = order[order.index(first) : order.index(last) + 1]
        count, _, each = cells[-1].rpartition("\N{MULTIPLICATION SIGN}")
        assert not count or int(count) == len(names), line
        stated.update(dict.fromkeys(names, float(each)))
    return stated


@pytest.mark.parametrize("lab", labs_of(ROOT))
def test_the_first_cells_table_gives_every_test_its_points(lab):
    points = _grade_points(lab)
    assert _table_points(lab, list(points)) == points
