"""Find the steps of a student's graded function, so each can be run and judged on its own.

The student version marks each blank with a comment naming the variable it defines
(``# dloss_dy: gradient of the loss with respect to y, shape (k,)``). Those comments split the
function's body into blocks: the given part before the first one, then one block per step.
From the student's source this module writes, as code for the clean room:

* an **instrumented** copy of the function that records a copy of every local variable at the
  end of each block (so a later in-place change or a reused name cannot alter what a step
  computed), and
* one **step function** per block that runs just that block's statements, given every name
  bound before it as a parameter, and returns its local variables: the clean room calls it
  with the true values of everything upstream.

Where the comments are gone, moved inside other statements, or split a statement, there are no
blocks (:func:`split_steps` returns None) and the caller judges the whole function instead.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

RECORD = "__course_record__"
STEP_FUNCTION = "__course_step_{index}__"
MARKER = re.compile(r"^(?P<indent>\s*)#\s*(?P<name>\w+)\s*:")


@dataclass(frozen=True)
class Block:
    """One step's statements: the variable it defines and the names bound before it."""

    name: str
    first_line: int  # 1-based, in the cell
    last_line: int
    bound_before: tuple[str, ...]


@dataclass(frozen=True)
class StepPlan:
    """The blocks of one function, and the code the clean room runs for them."""

    function: str
    blocks: tuple[Block, ...]
    instrumented: str  # defines ``function`` again, recording after each block
    step_functions: str  # defines one STEP_FUNCTION per block


def _function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    found = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name]
    return found[-1] if found else None


def _bound_names(statements: list[ast.stmt]) -> set[str]:
    """Names a list of statements binds at its own level (not inside nested functions)."""
    names: set[str] = set()
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
    return names


def split_steps(cell_source: str, function: str, steps: tuple[str, ...]) -> StepPlan | None:
    """The step blocks of ``function`` in ``cell_source``, with the code to run them; None when
    the source does not parse or its step comments no longer split it cleanly."""
    try:
        tree = ast.parse(cell_source)
    except SyntaxError:
        return None
    node = _function(tree, function)
    if node is None or not node.body:
        return None
    lines = cell_source.splitlines()
    body_indent = len(lines[node.body[0].lineno - 1]) - len(lines[node.body[0].lineno - 1].lstrip())
    markers: list[tuple[int, str]] = []  # (line, step name), in order
    for number in range(node.lineno + 1, (node.end_lineno or node.lineno) + 1):
        match = MARKER.match(lines[number - 1])
        if match and match["name"] in steps and len(match["indent"]) == body_indent:
            markers.append((number, match["name"]))
    if [name for _, name in markers] != list(steps):
        return None
    statements = node.body
    # Every statement must lie wholly before, between or after the markers.
    for statement in statements:
        if any(statement.lineno <= line <= (statement.end_lineno or statement.lineno)
               for line, _ in markers):
            return None
    returns = [s for s in statements if isinstance(s, ast.Return)]
    tail_line = returns[-1].lineno if returns else (node.end_lineno or 0) + 1
    if tail_line < markers[-1][0]:
        return None
    arguments = [a.arg for a in node.args.args]
    if node.args.vararg or node.args.kwarg or node.args.kwonlyargs:
        return None

    blocks = []
    bound = set(arguments)
    given = [s for s in statements if s.lineno < markers[0][0]]
    bound |= _bound_names(given)
    for index, (line, name) in enumerate(markers):
        end = markers[index + 1][0] - 1 if index + 1 < len(markers) else tail_line - 1
        inside = [s for s in statements if line < s.lineno <= end]
        blocks.append(Block(name, line + 1, end, tuple(sorted(bound))))
        bound |= _bound_names(inside)

    def segment(first: int, last: int) -> str:
        return "\n".join(lines[first - 1:last])

    pad = " " * body_indent
    header = lines[node.lineno - 1: node.body[0].lineno - 1]
    record = f"{pad}{RECORD}({{index}}, locals())"
    instrumented = [*header, segment(node.body[0].lineno, markers[0][0] - 1),
                    record.format(index=0)]
    for index, block in enumerate(blocks, start=1):
        instrumented += [segment(block.first_line, block.last_line), record.format(index=index)]
    instrumented.append(segment(tail_line, node.end_lineno or tail_line))

    step_functions = []
    for index, block in enumerate(blocks, start=1):
        parameters = ", ".join(f"{name}=None" for name in block.bound_before)
        body = textwrap.dedent(segment(block.first_line, block.last_line))
        step_functions.append(
            f"def {STEP_FUNCTION.format(index=index)}({parameters}):\n"
            + textwrap.indent(body, "    ") + "\n    pass\n    return locals()\n")
    return StepPlan(function, tuple(blocks), "\n".join(instrumented) + "\n",
                    "\n\n".join(step_functions))
