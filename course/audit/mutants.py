"""Mutants of a solution that break one step: each must lose that step, and only the checks the
notebook says depend on every step (the returned gradients, training) besides.

Made from the solution's syntax tree, one site of one step's statement at a time: the sign
flipped, an operand transposed, operands or a call's arguments swapped, a factor dropped, an
operator replaced (``*`` for ``@``), a constant changed, an index's axes swapped, the other axis
of a sum or none, ``keepdims`` lost, an off-by-n scale, a value of the wrong layer or step
(another name holding an array of the same shape). A lab's own planted submissions (its named
misconceptions, its correct forms) come from its declared cohort (:func:`declared`), planted in
the solution without its comments.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from typing import Any, cast

import numpy as np

from course.audit.derived import DECLARED, MUTANT, Derived, Operator, apply_edits
from course.audit.layouts import without_comments
from course.audit.syntax import Solution, function_node, replaced, unparsed

MAX_SWAPS_PER_SITE = 4  # other names of the same shape tried in place of one name


def per_step_site(
    solution: Solution,
    operator: str,
    matches: Callable[[ast.AST], bool],
    make: Callable[[Any, int], list[ast.AST]],
) -> Iterator[Derived]:
    """One mutant per replacement ``make(node, statement index)`` offers for each node of a
    step's statement's value that ``matches`` accepts (:func:`_whole_value`: the value
    itself)."""
    for index, steps in solution.step_statements():
        statement = solution.body(solution.tree)[index]
        value = getattr(statement, "value", None)
        if value is None:
            continue
        sites = [value] if matches is _whole_value else [n for n in ast.walk(value) if matches(n)]
        for position, node in enumerate(sites):
            for new in make(node, index):
                tree = solution.tree
                copy_value = cast(Any, solution.body(tree)[index]).value
                target = (
                    copy_value
                    if matches is _whole_value
                    else [n for n in ast.walk(copy_value) if matches(n)][position]
                )
                if target is copy_value:
                    cast(Any, solution.body(tree)[index]).value = new
                else:
                    replaced(copy_value, target, new)
                yield Derived(MUTANT, operator, ast.unparse(statement), unparsed(tree), steps=steps)


def _whole_value(node: ast.AST) -> bool:
    """Accepts the value of a step's statement itself (see :func:`per_step_site`)."""
    return False


def sign_flipped(solution: Solution) -> Iterator[Derived]:
    yield from per_step_site(
        solution,
        "sign_flipped",
        _whole_value,
        lambda n, i: [ast.UnaryOp(ast.USub(), copy.deepcopy(n))],
    )


def scaled_by_n(solution: Solution) -> Iterator[Derived]:
    """The step's value divided, or multiplied, by the length of the first array argument
    (the batch size; in a one-sample lab, the input's)."""
    arrays = [
        a.arg
        for a in function_node(solution.tree, solution.function).args.args
        if isinstance(solution.namespaces[0].get(a.arg), np.ndarray)
    ]
    if not arrays:
        return
    size = ast.parse(f"len({arrays[0]})", mode="eval").body
    yield from per_step_site(
        solution,
        "scaled_by_n",
        _whole_value,
        lambda n, i: [
            ast.BinOp(copy.deepcopy(n), op, copy.deepcopy(size)) for op in (ast.Div(), ast.Mult())
        ],
    )


def _transposed_matrix(solution: Solution) -> Callable[[ast.expr, int], list[ast.AST]]:
    """Replacements of a node: its transpose, where it is a matrix."""

    def make(node: ast.expr, index: int) -> list[ast.AST]:
        shape = solution.shape(node, index)
        if shape is None or len(shape) != 2:
            return []
        return [ast.Attribute(copy.deepcopy(node), "T", ast.Load())]

    return make


def transposed_operand(solution: Solution) -> Iterator[Derived]:
    """A matrix read by the step, transposed."""
    yield from per_step_site(
        solution,
        "transposed_operand",
        lambda n: isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load),
        _transposed_matrix(solution),
    )


def swapped_operands(solution: Solution) -> Iterator[Derived]:
    """``a @ b``, ``a - b``, ``a / b`` with their operands swapped."""
    yield from per_step_site(
        solution,
        "swapped_operands",
        lambda n: isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult | ast.Sub | ast.Div),
        lambda n, i: [ast.BinOp(copy.deepcopy(n.right), n.op, copy.deepcopy(n.left))],
    )


def dropped_factor(solution: Solution) -> Iterator[Derived]:
    """One factor of a product left out (an activation's value for its slope, a missing
    upstream gradient)."""
    yield from per_step_site(
        solution,
        "dropped_factor",
        lambda n: isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult),
        lambda n, i: [copy.deepcopy(n.left), copy.deepcopy(n.right)],
    )


def dropped_term(solution: Solution) -> Iterator[Derived]:
    """One term of a sum or difference left out (a Jacobian's diagonal only, say)."""
    yield from per_step_site(
        solution,
        "dropped_term",
        lambda n: isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add | ast.Sub),
        lambda n, i: [copy.deepcopy(n.left), copy.deepcopy(n.right)],
    )


def transposed_result(solution: Solution) -> Iterator[Derived]:
    """A matrix step's value transposed."""
    yield from per_step_site(
        solution, "transposed_result", _whole_value, _transposed_matrix(solution)
    )


def column_vector(solution: Solution) -> Iterator[Derived]:
    """A vector step's value as a column (``v[:, None]``)."""

    def make(node: ast.expr, index: int) -> list[ast.AST]:
        shape = solution.shape(node, index)
        if shape is None or len(shape) != 1:
            return []
        return [ast.parse(f"({ast.unparse(node)})[:, None]", mode="eval").body]

    yield from per_step_site(solution, "column_vector", _whole_value, make)


def _keyword_call(name: str) -> Callable[[ast.AST], bool]:
    return lambda n: isinstance(n, ast.Call) and any(k.arg == name for k in n.keywords)


def wrong_axis(solution: Solution) -> Iterator[Derived]:
    """A reduction over the other axis."""

    def make(node: ast.Call, index: int) -> list[ast.AST]:
        new = copy.deepcopy(node)
        axis = next(k for k in new.keywords if k.arg == "axis")
        if not isinstance(axis.value, ast.Constant) or axis.value.value not in (0, 1, -1):
            return []
        axis.value = ast.Constant(0 if axis.value.value else 1)
        return [new]

    yield from per_step_site(solution, "wrong_axis", _keyword_call("axis"), make)


def axis_dropped(solution: Solution) -> Iterator[Derived]:
    """A reduction over every entry instead of one axis."""

    def make(node: ast.Call, index: int) -> list[ast.AST]:
        new = copy.deepcopy(node)
        new.keywords = [k for k in new.keywords if k.arg not in ("axis", "keepdims")]
        return [new]

    yield from per_step_site(solution, "axis_dropped", _keyword_call("axis"), make)


def keepdims_lost(solution: Solution) -> Iterator[Derived]:
    def make(node: ast.Call, index: int) -> list[ast.AST]:
        new = copy.deepcopy(node)
        new.keywords = [k for k in new.keywords if k.arg != "keepdims"]
        return [new]

    yield from per_step_site(solution, "keepdims_lost", _keyword_call("keepdims"), make)


def wrong_name(solution: Solution) -> Iterator[Derived]:
    """A name read by the step replaced by another that holds an array of the same shape
    there (the other layer's weights, the step before's gradient...)."""

    def make(node: ast.Name, index: int) -> list[ast.AST]:
        namespace = solution.namespaces[index]
        value = namespace.get(node.id)
        if not isinstance(value, np.ndarray):
            return []
        others = [
            name
            for name, other in namespace.items()
            if name != node.id and isinstance(other, np.ndarray) and other.shape == value.shape
        ]
        return [ast.Name(name, ast.Load()) for name in sorted(others)[:MAX_SWAPS_PER_SITE]]

    yield from per_step_site(
        solution,
        "wrong_name",
        lambda n: isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load),
        make,
    )


REPLACED_OPERATORS = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.MatMult: ast.Mult,
}


def operator_replaced(solution: Solution) -> Iterator[Derived]:
    """``+`` for ``-`` and back, ``/`` for ``*`` and back, ``*`` for ``@`` (elementwise for a
    matrix product)."""
    yield from per_step_site(
        solution,
        "operator_replaced",
        lambda n: isinstance(n, ast.BinOp) and type(n.op) in REPLACED_OPERATORS,
        lambda n, i: [
            ast.BinOp(
                copy.deepcopy(n.left), REPLACED_OPERATORS[type(n.op)](), copy.deepcopy(n.right)
            )
        ],
    )


def swapped_arguments(solution: Solution) -> Iterator[Derived]:
    """A call's first two arguments swapped (``f(t, y)`` for ``f(y, t)``)."""

    def make(node: ast.Call, index: int) -> list[ast.AST]:
        new = copy.deepcopy(node)
        new.args[0], new.args[1] = new.args[1], new.args[0]
        return [new]

    yield from per_step_site(
        solution,
        "swapped_arguments",
        lambda n: (
            isinstance(n, ast.Call)
            and len(n.args) >= 2
            and not any(isinstance(a, ast.Starred) for a in n.args[:2])
        ),
        make,
    )


def constant_changed(solution: Solution) -> Iterator[Derived]:
    """A number in the step one more than written (``2.0 - h`` for ``1.0 - h``)."""
    yield from per_step_site(
        solution,
        "constant_changed",
        lambda n: isinstance(n, ast.Constant) and type(n.value) in (int, float),
        lambda n, i: [ast.Constant(n.value + 1)],
    )


def index_swapped(solution: Solution) -> Iterator[Derived]:
    """An index's axes swapped (``a[None, :]`` for ``a[:, None]``: a transposed outer
    product)."""

    def make(node: ast.Subscript, index: int) -> list[ast.AST]:
        new = copy.deepcopy(node)
        cast(ast.Tuple, new.slice).elts.reverse()
        return [] if ast.dump(new) == ast.dump(node) else [new]

    yield from per_step_site(
        solution,
        "index_swapped",
        lambda n: isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Tuple),
        make,
    )


def declared(
    solution: Solution, cohort: tuple, misconception_steps: dict[str, str]
) -> Iterator[Derived]:
    """The lab's planted submissions (``cohort``: its declared synthetic students) that grading
    must leave unflagged, each with the failures it plants and the misconception it names;
    planted in the solution without its comments where its edits allow."""
    plain = without_comments(solution.code)
    for student in cohort:
        if (
            student.blank
            or student.corrupt
            or student.expected_status != "graded"
            or not (student.edits or student.whole_cell)
        ):
            continue
        if student.whole_cell:
            code = student.whole_cell
        else:
            try:
                code = apply_edits(plain, student.edits)
            except ValueError:  # an edit that spans a comment: planted in the code as written
                code = apply_edits(solution.code, student.edits)
        yield Derived(
            DECLARED,
            "declared_misconception" if student.misconception else "declared_by_the_lab",
            student.student,
            code,
            steps=tuple(filter(None, [misconception_steps.get(student.misconception)])),
            own_cell=student.own_cell,
            misconception=student.misconception,
            expected_failures=frozenset(student.expected_failures),
        )


OPERATORS: tuple[Operator, ...] = (
    ("sign_flipped", sign_flipped),
    ("scaled_by_n", scaled_by_n),
    ("transposed_operand", transposed_operand),
    ("swapped_operands", swapped_operands),
    ("dropped_factor", dropped_factor),
    ("wrong_axis", wrong_axis),
    ("keepdims_lost", keepdims_lost),
    ("axis_dropped", axis_dropped),
    ("wrong_name", wrong_name),
    ("operator_replaced", operator_replaced),
    ("swapped_arguments", swapped_arguments),
    ("constant_changed", constant_changed),
    ("index_swapped", index_swapped),
    ("dropped_term", dropped_term),
    ("transposed_result", transposed_result),
    ("column_vector", column_vector),
)
