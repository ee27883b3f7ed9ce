"""The course tools' settings: traitlets configuration, read from ``nbgrader_config.py`` as
nbgrader's own are (``c.Grading.student_cpu_seconds = 90``), each with one default and help
text, and checked together before grading (:func:`problems`): a limit that would make another
one moot is an error naming both.

Each setting lives on the class that obeys it: ``Grading`` (here: ``course grade``),
``JudgeBudgets`` (``course.judge.runner``), ``SandboxLimits`` (``course.sandbox``),
``JudgeGradeCells`` (``course.nbgrader_ext.judge_cells``), ``PercentPerDay`` and ``Deadlines``
(``course.late``), ``Course`` (``course.case_keys``); and nbgrader's own, such as the cell
limit ``c.Execute.timeout``.
``python -m course --help-all`` lists them.
"""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import dataclass
from pathlib import Path

from nbgrader.preprocessors import Execute
from traitlets import Float, Integer
from traitlets.config import Config, Configurable

from course.case_keys import Course
from course.judge.runner import JudgeBudgets
from course.late import Deadlines, PercentPerDay
from course.nbgrader_ext.judge_cells import JudgeGradeCells
from course.sandbox.config import SandboxLimits
from course.sandbox.limits import Limits


class Grading(Configurable):
    """How ``course grade`` grades a cohort (``c.Grading.<name>``)."""

    student_cpu_seconds = Float(
        120.0,
        help="CPU seconds one student's grading may use (their kernel, the judge and "
        "the grading process), with a wall-clock backstop five times it; "
        "`course grade --student-timeout` overrides it",
    ).tag(config=True)
    workers = Integer(
        0,
        help="grading processes started here (0: one per CPU core); `course grade "
        "--workers` overrides it",
    ).tag(config=True)


# What --help-all lists, in this order.
CLASSES: tuple[type[Configurable], ...] = (
    Grading,
    JudgeBudgets,
    SandboxLimits,
    JudgeGradeCells,
    Deadlines,
    PercentPerDay,
    Course,
)
STUDENT_LIMIT = "the student limit (c.Grading.student_cpu_seconds, or --student-timeout)"
BUDGET_NAMES = ("cases_cpu_seconds", "training_cpu_seconds", "lines_cpu_seconds")


@dataclass(frozen=True)
class Settings:
    """The settings grading a cohort uses, as configured and overridden on the command line."""

    student_cpu_seconds: float
    workers: int  # 0: one per CPU core
    judge_budgets: tuple[float, float, float]
    limits: Limits
    cell_seconds: float | None  # nbgrader's c.Execute.timeout (None: no limit)


def from_config(
    config: Config, student_cpu_seconds: float | None = None, workers: int | None = None
) -> Settings:
    """The settings ``config`` makes, with the command line's overrides (None: not given)."""
    grading = Grading(config=config)
    cell = (
        config.Execute["timeout"]
        if "Execute" in config and "timeout" in config.Execute
        else Execute.class_traits()["timeout"].default_value
    )  # nbgrader's own default
    return Settings(
        student_cpu_seconds=(
            grading.student_cpu_seconds
            if student_cpu_seconds is None
            else float(student_cpu_seconds)
        ),
        workers=grading.workers if workers is None else workers,
        judge_budgets=JudgeBudgets(config=config).budgets(),
        limits=SandboxLimits(config=config).limits(),
        cell_seconds=None if cell is None or cell < 0 else float(cell),
    )


def problems(settings: Settings) -> list[str]:
    """What in ``settings`` cannot work together, each saying which setting to change."""
    found = []
    student = settings.student_cpu_seconds
    if student <= 0:
        found.append(f"{STUDENT_LIMIT} is {student:g}: it must be positive")
    budgets = dict(zip(BUDGET_NAMES, settings.judge_budgets, strict=True))
    for name, budget in budgets.items():
        if budget <= 0:
            found.append(f"c.JudgeBudgets.{name} is {budget:g}: it must be positive")
        elif budget > student:
            found.append(
                f"c.JudgeBudgets.{name} ({budget:g}) is above {STUDENT_LIMIT}, {student:g}: a "
                "student whose judging needs that long would be stopped as a loop that never "
                f"ends; raise the student limit to at least {budget:g} or lower "
                f"c.JudgeBudgets.{name}"
            )
    for earlier, later in itertools.pairwise(BUDGET_NAMES):
        if budgets[earlier] > budgets[later]:
            found.append(
                f"c.JudgeBudgets.{earlier} ({budgets[earlier]:g}) is above "
                f"c.JudgeBudgets.{later} ({budgets[later]:g}): both count from the "
                "re-check's start, so each must be at least the one before"
            )
    if settings.cell_seconds is not None and settings.cell_seconds > student:
        found.append(
            f"c.Execute.timeout ({settings.cell_seconds:g} s a cell) is above "
            f"{STUDENT_LIMIT}, {student:g}: lower it or raise the student limit"
        )
    if settings.limits.cpu_seconds < student:
        found.append(
            f"c.SandboxLimits.cpu_seconds ({settings.limits.cpu_seconds:g}) is below "
            f"{STUDENT_LIMIT}, {student:g}: a kernel would be killed before the "
            "student limit could say why; raise it to at least the student limit"
        )
    if settings.workers < 0:
        found.append(f"c.Grading.workers is {settings.workers}: use 0 (one per core) or more")
    return found


class SettingsError(ValueError):
    """The configured settings cannot work together (see :func:`problems`)."""


def checked(
    config: Config,
    config_file: Path,
    student_cpu_seconds: float | None = None,
    workers: int | None = None,
) -> Settings:
    """:func:`from_config`; raises SettingsError listing every problem (and naming
    ``config_file``) when they cannot work together."""
    settings = from_config(config, student_cpu_seconds, workers)
    if found := problems(settings):
        raise SettingsError(
            f"the settings in {config_file} cannot work together:\n  " + "\n  ".join(found)
        )
    return settings


def for_course(
    root: Path, student_cpu_seconds: float | None = None, workers: int | None = None
) -> Settings:
    """:func:`checked` settings of the course at ``root`` (its ``nbgrader_config.py``)."""
    from course.nbgrader_setup import CONFIG_FILE, load_config

    return checked(load_config(root), root / CONFIG_FILE, student_cpu_seconds, workers)


def limited_to(student_cpu_seconds: float) -> str:
    """Configuration lines that set the student limit to ``student_cpu_seconds`` and lower
    each judge budget above it to it (a quick run: the demo's, the tests')."""
    lines = [f"c.Grading.student_cpu_seconds = {student_cpu_seconds!r}"]
    for name in BUDGET_NAMES:
        if JudgeBudgets.class_traits()[name].default_value > student_cpu_seconds:
            lines.append(f"c.JudgeBudgets.{name} = {float(student_cpu_seconds)!r}")
    return "\n".join(lines) + "\n"


def help_all() -> str:
    """Every setting the course tools read, each as ``c.Class.name = default`` with its help,
    grouped by class."""
    parts = [__doc__.strip()]
    for cls in CLASSES:
        doc = " ".join((cls.__doc__ or "").split())
        parts += ["", *textwrap.wrap(f"{cls.__name__}: {doc}", 96)]
        for name, trait in sorted(cls.class_traits(config=True).items()):
            if trait.this_class is not cls or trait.metadata.get("set_by_grading"):
                continue  # a base class's (nbgrader's own, logging), or no setting at all
            parts.append(f"  c.{cls.__name__}.{name} = {trait.default()!r}")
            parts += textwrap.wrap(
                " ".join(trait.help.split()), 96, initial_indent=" " * 6, subsequent_indent=" " * 6
            )
    return "\n".join(parts) + "\n"
