"""Building rewrites one site at a time: the nodes a rewrite makes, and each matching node of
the graded function replaced in a fresh copy of the solution."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import Any

from course.audit.derived import REWRITE, Derived
from course.audit.syntax import Solution, replaced, unparsed


def numpy_attribute(attribute: str) -> ast.Attribute:
    """``np.<attribute>``, as a node."""
    return ast.Attribute(ast.Name("np", ast.Load()), attribute, ast.Load())


def call(function: ast.expr, *args: ast.expr, **keywords: ast.expr) -> ast.Call:
    """``function(*args, **keywords)``, as a node."""
    return ast.Call(function, list(args), [ast.keyword(k, v) for k, v in keywords.items()])


def per_site(
    solution: Solution,
    operator: str,
    matches: Callable[[ast.AST], bool],
    make: Callable[[Any, int], ast.AST | None],
) -> Iterator[Derived]:
    """One rewrite per node of the graded function that ``matches`` accepts: that node
    replaced by ``make(node, statement index)`` (None: no rewrite at this site)."""
    for index, statement in enumerate(solution.body(solution.tree)):
        for position, node in enumerate(n for n in ast.walk(statement) if matches(n)):
            new = make(node, index)
            if new is None:
                continue
            tree = solution.tree
            copy_statement = solution.body(tree)[index]
            target = [n for n in ast.walk(copy_statement) if matches(n)][position]
            replaced(copy_statement, target, new)
            yield Derived(REWRITE, operator, ast.unparse(statement).splitlines()[0], unparsed(tree))


def is_operation(kind: type[ast.BinOp], op: type | None = None) -> Callable[[ast.AST], bool]:
    """A test of a node: an instance of ``kind`` (with operator ``op``, when given)."""
    return lambda node: isinstance(node, kind) and (op is None or isinstance(node.op, op))
