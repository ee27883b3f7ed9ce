"""Submissions derived from a solution's syntax tree: the same code in the layouts students
write it in (comments gone, compacted, reordered, two steps on a line, tuple assignments).

Each layout keeps what the function computes, so the judge must give each full marks; the
tests derive them from every lab's solution instead of writing them by hand per lab.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Callable
from typing import cast

from judge_runtime.steps import written_names


def without_comments(source: str) -> str:
    """``source`` without its comments and blank lines (docstrings stay: they are code)."""
    tokens = [
        t
        for t in tokenize.generate_tokens(io.StringIO(source).readline)
        if t.type != tokenize.COMMENT
    ]
    lines = tokenize.untokenize(tokens).splitlines()
    return "\n".join(line.rstrip() for line in lines if line.strip()) + "\n"


def compacted(source: str) -> str:
    """``source`` as Python prints its syntax tree: one statement a line, no comments."""
    return ast.unparse(ast.parse(source)) + "\n"


def _reads(statement: ast.stmt) -> set[str]:
    return {
        n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _writes(statement: ast.stmt) -> set[str]:
    """Every name the statement may write or change in place (an element, ``out=``...)."""
    return set(written_names(statement))


def _independent(first: ast.stmt, second: ast.stmt) -> bool:
    """Whether the two statements may run in either order (neither reads or writes what the
    other writes) and are plain assignments."""
    if not all(isinstance(s, ast.Assign | ast.AnnAssign) for s in (first, second)):
        return False
    return not (
        _writes(first) & (_reads(second) | _writes(second)) or _writes(second) & _reads(first)
    )


def _function_body(tree: ast.Module, function: str) -> list[ast.stmt]:
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    return node.body


def _rewrite(source: str, function: str, change: Callable[[list[ast.stmt]], list[ast.stmt]]) -> str:
    tree = ast.parse(source)
    body = _function_body(tree, function)
    body[:] = change(body)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def reordered(source: str, function: str) -> str:
    """The function with each pair of neighbouring independent assignments swapped, where the
    data allow (``dloss_db2`` before ``dloss_dW2``, say)."""

    def swap(body: list[ast.stmt]) -> list[ast.stmt]:
        body, index = list(body), 0
        while index + 1 < len(body):
            if _independent(body[index], body[index + 1]):
                body[index], body[index + 1] = body[index + 1], body[index]
                index += 2
            else:
                index += 1
        return body

    return _rewrite(source, function, swap)


def tuple_assigned(source: str, function: str) -> str:
    """The function with each pair of neighbouring independent single-name assignments
    written as one tuple assignment: ``a, b = (x, y)``."""

    def pair(body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt]
        out, index = [], 0
        while index < len(body):
            first = body[index]
            second = body[index + 1] if index + 1 < len(body) else None
            if (
                second is not None
                and _independent(first, second)
                and all(
                    isinstance(s, ast.Assign)
                    and len(s.targets) == 1
                    and isinstance(s.targets[0], ast.Name)
                    for s in (first, second)
                )
            ):
                one, two = cast(ast.Assign, first), cast(ast.Assign, second)
                out.append(
                    ast.Assign(
                        [ast.Tuple([one.targets[0], two.targets[0]], ast.Store())],
                        ast.Tuple([one.value, two.value], ast.Load()),
                    )
                )
                index += 2
            else:
                out.append(first)
                index += 1
        return out

    return _rewrite(source, function, pair)


def two_per_line(source: str, function: str) -> str:
    """The function with every two neighbouring simple statements on one line, ``a; b``."""
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    lines = [ast.unparse(s) for s in node.body]
    simple = [
        not isinstance(
            s, ast.If | ast.For | ast.While | ast.With | ast.Try | ast.FunctionDef | ast.ClassDef
        )
        and "\n" not in text
        for s, text in zip(node.body, lines, strict=True)
    ]
    joined, index = [], 0
    while index < len(lines):
        if index + 1 < len(lines) and simple[index] and simple[index + 1]:
            joined.append(f"{lines[index]}; {lines[index + 1]}")
            index += 2
        else:
            joined.append(lines[index])
            index += 1
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    header = "\n".join(source.splitlines()[first - 1 : node.body[0].lineno - 1])
    body = "\n".join("    " + line.replace("\n", "\n    ") for line in joined)
    parts = [f"{header}\n{body}" if n is node else ast.unparse(n) for n in tree.body]
    return "\n\n".join(parts) + "\n"


LAYOUTS: dict[str, Callable[[str, str], str]] = {
    "without_comments": lambda source, function: without_comments(source),
    "compacted": lambda source, function: compacted(source),
    "reordered": reordered,
    "two_per_line": two_per_line,
    "tuple_assigned": tuple_assigned,
}
