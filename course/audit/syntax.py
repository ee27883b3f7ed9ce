"""The solution's syntax tree as the audit derives from it: the graded function's statements,
the steps each writes, the values every name holds before each statement (from one run of the
solution on a hidden case), and one node at a time replaced.

The solution is the instructor's code: running it here, unsandboxed, is trusted.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from judge_runtime.steps import written_names

SEEN = "_course_audit_seen_"  # the instrumented function's record of its namespaces


def function_node(tree: ast.Module, function: str) -> ast.FunctionDef:
    """The top-level definition of ``function`` in ``tree``."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return node
    raise ValueError(f"the solution defines no function {function!r}")


@dataclass(frozen=True)
class Solution:
    """The graded function of a lab's solution, with what it computes on one hidden case.

    ``namespaces[i]``: the function's locals right before its i-th top-level statement (and
    after the last one, at index ``len(body)``), on one hidden case; ``other``: the same on a
    case of other sizes (a batch of another length), when the lab has one; ``globals_``: the
    trusted code's names (numpy, the provided functions)."""

    code: str
    function: str
    steps: tuple[str, ...]
    globals_: dict
    namespaces: tuple[dict, ...]
    other: tuple[dict, ...] | None = None

    @property
    def tree(self) -> ast.Module:
        """A fresh copy of the solution's syntax tree (free to change)."""
        return ast.parse(self.code)

    def body(self, tree: ast.Module) -> list[ast.stmt]:
        return function_node(tree, self.function).body

    def step_statements(self) -> Iterator[tuple[int, tuple[str, ...]]]:
        """``(index, steps)`` of each top-level statement that writes steps."""
        for index, statement in enumerate(self.body(self.tree)):
            if written := tuple(s for s in self.steps if s in written_names(statement)):
                yield index, written

    def value(self, expression: ast.expr, index: int, other: bool = False):
        """What ``expression`` evaluates to right before top-level statement ``index`` (on the
        case of other sizes with ``other``); None when it cannot be evaluated there."""
        namespaces = self.other if other and self.other else self.namespaces
        try:
            tree = ast.fix_missing_locations(ast.Expression(copy.deepcopy(expression)))
            return eval(
                compile(tree, "<audit>", "eval"),
                dict(self.globals_),
                copy.deepcopy(dict(namespaces[index])),
            )
        except Exception:
            return None

    def shape(self, expression: ast.expr, index: int) -> tuple | None:
        """The shape of ``expression``'s value before statement ``index``, if it is an array."""
        value = self.value(expression, index)
        return value.shape if isinstance(value, np.ndarray) else None

    def shapes(self, expression: ast.expr, index: int) -> tuple[tuple | None, tuple | None]:
        """:meth:`shape` on the case, and on the case of other sizes (the same when there is
        none)."""
        other = self.value(expression, index, other=True)
        return (
            self.shape(expression, index),
            other.shape if isinstance(other, np.ndarray) else None,
        )

    def is_numeric(self, expression: ast.expr, index: int) -> bool:
        """Whether ``expression`` is a number or an array of numbers before ``index``."""
        value = self.value(expression, index)
        return isinstance(value, int | float | np.number | np.ndarray) and not isinstance(
            value, bool
        )

    def names(self) -> set[str]:
        """Every name the solution's code uses."""
        return {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)} | {
            a.arg for a in ast.walk(self.tree) if isinstance(a, ast.arg)
        }


def load_solution(
    code: str,
    function: str,
    steps: tuple[str, ...],
    trusted_code: str,
    arguments: dict,
    other: dict | None = None,
) -> Solution:
    """Run ``code``'s ``function`` (after ``trusted_code``) on ``arguments`` (by parameter
    name), and on ``other`` (arguments of other sizes) when given, recording its namespace
    before each top-level statement."""
    first = _namespaces(code, function, trusted_code, arguments)
    second = None if other is None else _namespaces(code, function, trusted_code, other)[1]
    return Solution(code, function, steps, first[0], first[1], second)


def _namespaces(
    code: str, function: str, trusted_code: str, arguments: dict
) -> tuple[dict, tuple[dict, ...]]:
    tree = ast.parse(code)
    node = function_node(tree, function)
    record = ast.parse(f"{SEEN}.append(locals())").body[0]
    body = []
    for statement in node.body:
        body += [copy.deepcopy(record), statement]
    returns = isinstance(node.body[-1], ast.Return)
    node.body = body if returns else [*body, copy.deepcopy(record)]
    namespace: dict = {}
    exec(compile(trusted_code, "<trusted>", "exec"), namespace)
    globals_ = dict(namespace)
    seen = _Snapshots()
    namespace[SEEN] = seen
    exec(compile(ast.fix_missing_locations(tree), "<solution>", "exec"), namespace)
    namespace[function](**copy.deepcopy(arguments))
    if returns:  # after the return statement: what it returned is not a local; none needed
        seen.append(dict(seen[-1]))
    return globals_, tuple(seen)


class _Snapshots(list):
    """Namespaces as they were: each value copied (a later in-place change of an array must
    not reach an earlier record)."""

    def append(self, namespace: dict) -> None:
        super().append({name: _copied(value) for name, value in namespace.items()})


def _copied(value):
    try:
        return copy.copy(value)
    except Exception:
        return value


def replaced(root: ast.AST, old: ast.AST, new: ast.AST) -> None:
    """Put ``new`` in the place of node ``old`` under ``root`` (in place)."""
    for parent in ast.walk(root):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list) and any(item is old for item in value):
                value[[id(item) for item in value].index(id(old))] = new
                return
    raise ValueError("the node to replace is not in the tree")


def unparsed(tree: ast.Module) -> str:
    """``tree`` as code."""
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"
