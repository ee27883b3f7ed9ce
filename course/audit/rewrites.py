"""Rewrites of a solution that keep what it computes: each must earn full marks, unflagged.

Made from the solution's syntax tree, one site at a time, so they serve every lab: the layouts
students write (:mod:`course.audit.layouts`), equivalent numpy spellings, in-place work on fresh
arrays, renamed or inlined intermediates, a step computed by a helper in a cell above, float32
inputs, sums with and without ``keepdims``, and a fixed loop over a step's last axis.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from typing import cast

import numpy as np

from course.audit.derived import REWRITE, Derived, Operator
from course.audit.layouts import LAYOUTS
from course.audit.sites import numpy_attribute
from course.audit.spellings import (
    dot_spelled,
    elementwise_spelled,
    keepdims_spelled,
    matmul_spelled,
    out_argument,
    outer_spelled,
    slope_spelled,
    sum_spelled,
    transpose_spelled,
    vector_matrix_spelled,
)
from course.audit.syntax import Solution, function_node, replaced, unparsed
from judge_runtime.steps import written_names


def layouts(solution: Solution) -> Iterator[Derived]:
    for name, layout in LAYOUTS.items():
        yield Derived(
            REWRITE, f"layout_{name}", "the whole cell", layout(solution.code, solution.function)
        )


def _step_assignments(solution: Solution, tree: ast.Module) -> Iterator[tuple[int, ast.Assign]]:
    """``(index, statement)`` of each top-level ``name = value`` of a step."""
    for index, statement in enumerate(solution.body(tree)):
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id in solution.steps
        ):
            yield index, statement


def in_place(solution: Solution) -> Iterator[Derived]:
    """``s = a - b`` (and ``+``, ``*``, ``/``) as ``s = np.array(a, dtype=float); s -= b``
    where ``a`` already has the result's shape."""
    for index, statement in _step_assignments(solution, solution.tree):
        value, name = statement.value, cast(ast.Name, statement.targets[0]).id
        if not (
            isinstance(value, ast.BinOp)
            and isinstance(value.op, ast.Sub | ast.Add | ast.Mult | ast.Div)
        ):
            continue
        if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(value.right)):
            continue  # the right side reads what the first statement would overwrite
        left, result = solution.shapes(value.left, index), solution.shapes(value, index)
        if None in left or left != result:
            continue
        tree = solution.tree
        body = solution.body(tree)
        op = type(value.op).__name__
        first = cast(ast.Assign, ast.parse(f"{name} = np.array(LEFT, dtype=np.float64)").body[0])
        cast(ast.Call, first.value).args[0] = value.left
        second = ast.AugAssign(ast.Name(name, ast.Store()), getattr(ast, op)(), value.right)
        body[index : index + 1] = [first, second]
        yield Derived(REWRITE, "in_place_on_fresh", ast.unparse(statement), unparsed(tree))


def _renamed(solution: Solution, old: str, new: str) -> str:
    tree = solution.tree
    for node in ast.walk(function_node(tree, solution.function)):
        if isinstance(node, ast.Name) and node.id == old:
            node.id = new
    return unparsed(tree)


def renamed(solution: Solution) -> Iterator[Derived]:
    """Each local name (a step's too: then the step is judged by the returned gradients)
    renamed everywhere in the function."""
    node = function_node(solution.tree, solution.function)
    parameters = {a.arg for a in node.args.args}
    locals_ = sorted(
        {
            n.id
            for statement in node.body
            for n in ast.walk(statement)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        - parameters
    )
    for name in locals_:
        yield Derived(REWRITE, "renamed", name, _renamed(solution, name, f"my_{name}"))


def inlined(solution: Solution) -> Iterator[Derived]:
    """A step assigned once and read later, its expression written where it is read and its
    assignment removed (judged then by the returned gradients)."""
    for index, statement in _step_assignments(solution, solution.tree):
        name = cast(ast.Name, statement.targets[0]).id
        tree = solution.tree
        body = solution.body(tree)
        later = body[index + 1 :]
        reads = {n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name)}
        if any((reads | {name}) & written_names(s) for s in later):
            continue  # the expression would read other values where it is written out
        uses = [n for s in later for n in ast.walk(s) if isinstance(n, ast.Name) and n.id == name]
        if not uses:
            continue
        for read in uses:
            for s in later:
                try:
                    replaced(s, read, copy.deepcopy(cast(ast.Assign, body[index]).value))
                    break
                except ValueError:
                    continue
        del body[index]
        yield Derived(REWRITE, "inlined", ast.unparse(statement), unparsed(tree))


def helper_above(solution: Solution) -> Iterator[Derived]:
    """A step's expression computed by a function defined in a cell of the student's own,
    above the graded cell."""
    for index, statement in _step_assignments(solution, solution.tree):
        name = cast(ast.Name, statement.targets[0]).id
        local = solution.namespaces[index]
        reads = sorted(
            {n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name) and n.id in local}
        )
        helper = f"compute_{name}"
        own = (
            f"import numpy as np\n\n\ndef {helper}({', '.join(reads)}):\n"
            f"    return {ast.unparse(statement.value)}\n"
        )
        tree = solution.tree
        cast(ast.Assign, solution.body(tree)[index]).value = ast.parse(
            f"{helper}({', '.join(reads)})", mode="eval"
        ).body
        yield Derived(
            REWRITE, "helper_in_a_cell_above", ast.unparse(statement), unparsed(tree), own_cell=own
        )


def float32_inputs(solution: Solution) -> Iterator[Derived]:
    """Every floating-point array argument cast to float32 first."""
    node = function_node(solution.tree, solution.function)
    arrays = [
        a.arg
        for a in node.args.args
        if isinstance(solution.namespaces[0].get(a.arg), np.ndarray)
        and solution.namespaces[0][a.arg].dtype.kind == "f"
    ]
    if not arrays:
        return
    tree = solution.tree
    cast = ast.parse("\n".join(f"{a} = {a}.astype(np.float32)" for a in arrays)).body
    body = solution.body(tree)
    docstring = int(isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant))
    body[docstring:docstring] = cast
    yield Derived(REWRITE, "float32_inputs", ", ".join(arrays), unparsed(tree))


def annotated(solution: Solution) -> Iterator[Derived]:
    """Every step assigned with a type annotation, ``s: np.ndarray = ...``."""
    tree = solution.tree
    body = solution.body(tree)
    found = False
    for index, statement in _step_assignments(solution, tree):
        body[index] = ast.AnnAssign(
            ast.Name(cast(ast.Name, statement.targets[0]).id, ast.Store()),
            numpy_attribute("ndarray"),
            statement.value,
            simple=1,
        )
        found = True
    if found:
        yield Derived(REWRITE, "annotated_steps", "every step", unparsed(tree))


def accumulated(solution: Solution) -> Iterator[Derived]:
    """A step started from zeros and added to: ``s = np.zeros(shape); s += value``."""
    for index, statement in _step_assignments(solution, solution.tree):
        name = cast(ast.Name, statement.targets[0]).id
        shapes = solution.shapes(ast.Name(name, ast.Load()), index + 1)
        if None in shapes or any(
            n.id == name for n in ast.walk(statement.value) if isinstance(n, ast.Name)
        ):
            continue
        tree = solution.tree
        value = ast.unparse(statement.value)
        start = ast.parse(f"{name} = np.zeros(np.shape({value}))\n{name} += {value}").body
        solution.body(tree)[index : index + 1] = start
        yield Derived(REWRITE, "accumulated_from_zeros", ast.unparse(statement), unparsed(tree))


def returned_as_list(solution: Solution) -> Iterator[Derived]:
    """The gradients returned as a list instead of a tuple."""
    tree = solution.tree
    body = solution.body(tree)
    last = body[-1]
    if isinstance(last, ast.Return) and isinstance(last.value, ast.Tuple):
        last.value = ast.List(last.value.elts, ast.Load())
        yield Derived(
            REWRITE,
            "returned_as_list",
            ast.unparse(solution.body(solution.tree)[-1]),
            unparsed(tree),
        )


def _fresh(solution: Solution, name: str) -> str:
    """``name``, or ``name`` with a number, not used by the solution."""
    used, number, fresh = solution.names(), 0, name
    while fresh in used:
        number += 1
        fresh = f"{name}_{number}"
    return fresh


def fixed_loop(solution: Solution) -> Iterator[Derived]:
    """A step filled slice by slice, in a loop over the last of its axes whose length does
    not change with the batch (the classes or hidden units, never the samples)."""
    for index, statement in _step_assignments(solution, solution.tree):
        name = cast(ast.Name, statement.targets[0]).id
        shapes = solution.shapes(ast.Name(name, ast.Load()), index + 1)
        known = cast("tuple[tuple, tuple]", shapes)  # read only past ``None in shapes``
        if None in shapes or len(known[0]) == 0 or len(known[0]) != len(known[1]):
            continue
        fixed = [axis for axis, (a, b) in enumerate(zip(*known, strict=True)) if a == b]
        if not fixed:
            continue
        axis = fixed[-1]
        whole, column = _fresh(solution, f"whole_{name}"), _fresh(solution, "column")
        at = ":, " * axis + column
        loop = ast.parse(
            f"{whole} = VALUE\n{name} = np.empty_like({whole})\n"
            f"for {column} in range({whole}.shape[{axis}]):\n"
            f"    {name}[{at}] = {whole}[{at}]\n"
        ).body
        cast(ast.Assign, loop[0]).value = statement.value
        tree = solution.tree
        solution.body(tree)[index : index + 1] = loop
        yield Derived(REWRITE, "fixed_loop_over_an_axis", ast.unparse(statement), unparsed(tree))


OPERATORS: tuple[Operator, ...] = (
    ("layouts", layouts),
    ("matmul_spelled", matmul_spelled),
    ("dot_spelled", dot_spelled),
    ("transpose_spelled", transpose_spelled),
    ("elementwise_spelled", elementwise_spelled),
    ("out_argument", out_argument),
    ("in_place", in_place),
    ("renamed", renamed),
    ("inlined", inlined),
    ("helper_above", helper_above),
    ("float32_inputs", float32_inputs),
    ("keepdims_spelled", keepdims_spelled),
    ("fixed_loop", fixed_loop),
    ("outer_spelled", outer_spelled),
    ("sum_spelled", sum_spelled),
    ("vector_matrix_spelled", vector_matrix_spelled),
    ("slope_spelled", slope_spelled),
    ("annotated", annotated),
    ("accumulated", accumulated),
    ("returned_as_list", returned_as_list),
)
