"""Rewrites of a solution that keep what it computes: each must earn full marks, unflagged.

Made from the solution's syntax tree, one site at a time, so they serve every lab: the layouts
students write (:mod:`course.audit.layouts`), equivalent numpy spellings, in-place work on fresh
arrays, renamed or inlined intermediates, a step computed by a helper in a cell above, float32
inputs, sums with and without ``keepdims``, and a fixed loop over a step's last axis.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from typing import Any, cast

import numpy as np

from course.audit.derived import REWRITE, Derived, Operator
from course.audit.layouts import LAYOUTS
from course.audit.syntax import Solution, function_node, replaced, unparsed
from judge_runtime.steps import written_names

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _np(attribute: str) -> ast.Attribute:
    return ast.Attribute(ast.Name("np", ast.Load()), attribute, ast.Load())


def _call(function: ast.expr, *args: ast.expr, **keywords: ast.expr) -> ast.Call:
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


def _is(kind: type[ast.BinOp], op: type | None = None) -> Callable[[ast.AST], bool]:
    return lambda node: isinstance(node, kind) and (op is None or isinstance(node.op, op))


def layouts(solution: Solution) -> Iterator[Derived]:
    for name, layout in LAYOUTS.items():
        yield Derived(
            REWRITE, f"layout_{name}", "the whole cell", layout(solution.code, solution.function)
        )


def _matrices(solution: Solution, left: ast.expr, right: ast.expr, index: int) -> bool:
    """Whether both operands are vectors or matrices on every case (where ``@``, ``np.dot``
    and ``np.matmul`` agree)."""
    return all(
        shape is not None and 1 <= len(shape) <= 2
        for side in (left, right)
        for shape in solution.shapes(side, index)
    )


def matmul_spelled(solution: Solution) -> Iterator[Derived]:
    """``a @ b`` as ``np.dot``, ``np.matmul`` and ``np.einsum`` (with and without
    ``optimize``)."""

    def as_call(name: str) -> Callable[[ast.BinOp, int], ast.AST | None]:
        return lambda n, i: (
            _call(_np(name), n.left, n.right) if _matrices(solution, n.left, n.right, i) else None
        )

    yield from per_site(solution, "matmul_as_dot", _is(ast.BinOp, ast.MatMult), as_call("dot"))
    yield from per_site(
        solution, "matmul_as_matmul", _is(ast.BinOp, ast.MatMult), as_call("matmul")
    )

    def einsum(node: ast.BinOp, index: int, optimize: bool) -> ast.AST | None:
        left, right = (solution.shape(side, index) for side in (node.left, node.right))
        if left is None or right is None or not (1 <= len(left) <= 2 and 1 <= len(right) <= 2):
            return None
        a, b = ("ij", "jk") if len(left) == 2 else ("j", "jk")
        if len(right) == 1:
            b = "j"
        out = "".join(c for c in a + b if c != "j")
        keywords = {"optimize": ast.Constant(True)} if optimize else {}
        return _call(
            _np("einsum"), ast.Constant(f"{a},{b}->{out}"), node.left, node.right, **keywords
        )

    yield from per_site(
        solution,
        "matmul_as_einsum",
        _is(ast.BinOp, ast.MatMult),
        lambda n, i: einsum(n, i, optimize=False),
    )
    yield from per_site(
        solution,
        "matmul_as_einsum_optimized",
        _is(ast.BinOp, ast.MatMult),
        lambda n, i: einsum(n, i, optimize=True),
    )


def _numpy_call(name: str) -> Callable[[ast.AST], bool]:
    return lambda node: (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "np"
        and len(node.args) == 2
        and not node.keywords
    )


def dot_spelled(solution: Solution) -> Iterator[Derived]:
    """``np.dot(a, b)`` and ``np.matmul(a, b)`` as ``a @ b``."""
    for name in ("dot", "matmul"):
        yield from per_site(
            solution,
            f"{name}_as_matmul",
            _numpy_call(name),
            lambda n, i: (
                ast.BinOp(n.args[0], ast.MatMult(), n.args[1])
                if _matrices(solution, n.args[0], n.args[1], i)
                else None
            ),
        )


def transpose_spelled(solution: Solution) -> Iterator[Derived]:
    """``x.T`` as ``np.transpose(x)`` and ``x.transpose()``."""
    is_t = lambda n: isinstance(n, ast.Attribute) and n.attr == "T"  # noqa: E731
    yield from per_site(
        solution, "T_as_np_transpose", is_t, lambda n, i: _call(_np("transpose"), n.value)
    )
    yield from per_site(
        solution,
        "T_as_method",
        is_t,
        lambda n, i: _call(ast.Attribute(n.value, "transpose", ast.Load())),
    )


def elementwise_spelled(solution: Solution) -> Iterator[Derived]:
    """``a * b`` as ``np.multiply(a, b)``; ``a * b`` and ``a + b`` with operands swapped."""

    def numeric(n: ast.BinOp, i: int) -> bool:
        return solution.is_numeric(n.left, i) and solution.is_numeric(n.right, i)

    yield from per_site(
        solution,
        "multiply_as_function",
        _is(ast.BinOp, ast.Mult),
        lambda n, i: _call(_np("multiply"), n.left, n.right) if numeric(n, i) else None,
    )
    for op in (ast.Mult, ast.Add):
        yield from per_site(
            solution,
            f"commuted_{op.__name__.lower()}",
            _is(ast.BinOp, op),
            lambda n, i: ast.BinOp(n.right, n.op, n.left) if numeric(n, i) else None,
        )


def out_argument(solution: Solution) -> Iterator[Derived]:
    """``a * b`` (and ``+``, ``-``, ``/``) computed into a fresh array with ``out=``."""
    functions = {ast.Mult: "multiply", ast.Add: "add", ast.Sub: "subtract", ast.Div: "divide"}

    def make(node: ast.BinOp, index: int) -> ast.AST | None:
        value = solution.value(node, index)
        if not isinstance(value, np.ndarray) or value.dtype != np.float64:
            return None
        shape = _call(
            _np("broadcast_shapes"),
            _call(_np("shape"), copy.deepcopy(node.left)),
            _call(_np("shape"), copy.deepcopy(node.right)),
        )
        return _call(
            _np(functions[type(node.op)]), node.left, node.right, out=_call(_np("empty"), shape)
        )

    yield from per_site(
        solution,
        "out_argument",
        lambda n: isinstance(n, ast.BinOp) and type(n.op) in functions,
        make,
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


def _sum_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    return node.func.attr in ("sum", "mean") and any(k.arg == "axis" for k in node.keywords)


def keepdims_spelled(solution: Solution) -> Iterator[Derived]:
    """A sum over an axis of a matrix with ``keepdims=True`` and flattened after, or one
    with ``keepdims=True`` written without it and the axis put back by indexing."""

    def make(node: ast.Call, index: int) -> ast.AST | None:
        operand = cast(ast.Attribute, node.func).value if not node.args else node.args[0]
        given = solution.shape(operand, index)
        keepdims = [k for k in node.keywords if k.arg == "keepdims"]
        axis = next(k.value for k in node.keywords if k.arg == "axis")
        if (
            given is None
            or len(given) != 2
            or not isinstance(axis, ast.Constant)
            or any(
                not (isinstance(k.value, ast.Constant) and k.value.value is True) for k in keepdims
            )
        ):
            return None
        result = solution.shape(node, index)
        new = copy.deepcopy(node)
        if not keepdims and result is not None and len(result) == 1:
            new.keywords.append(ast.keyword("keepdims", ast.Constant(True)))
            return _call(ast.Attribute(new, "ravel", ast.Load()))
        if keepdims and axis.value in (0, 1, -1):
            new.keywords = [k for k in new.keywords if k.arg != "keepdims"]
            where = "[None, :]" if axis.value == 0 else "[:, None]"
            return ast.parse(f"({ast.unparse(new)}){where}", mode="eval").body
        return None

    yield from per_site(solution, "keepdims_spelled", _sum_call, make)


def outer_spelled(solution: Solution) -> Iterator[Derived]:
    """``a[:, None] * b`` (an outer product of two vectors) as ``np.outer(a, b)``."""

    def make(node: ast.BinOp, index: int) -> ast.AST | None:
        left = node.left
        if not (isinstance(left, ast.Subscript) and ast.unparse(left.slice) == "(:, None)"):
            return None
        vectors = [solution.shapes(side, index) for side in (left.value, node.right)]
        if not all(shape is not None and len(shape) == 1 for pair in vectors for shape in pair):
            return None
        return _call(_np("outer"), left.value, node.right)

    yield from per_site(solution, "outer_as_np_outer", _is(ast.BinOp, ast.Mult), make)


def sum_spelled(solution: Solution) -> Iterator[Derived]:
    """``x.sum(axis=k)`` as ``np.sum(x, axis=k)``, and a column sum of a matrix as a product
    with a vector of ones."""

    def as_function(node: ast.Call, index: int) -> ast.AST | None:
        if node.args or not isinstance(node.func, ast.Attribute) or node.func.attr != "sum":
            return None
        return _call(
            _np("sum"),
            node.func.value,
            **{
                k.arg: k.value  # type: ignore[arg-type]  # arg None: a TypeError
                for k in node.keywords
            },
        )

    def as_product(node: ast.Call, index: int) -> ast.AST | None:
        operand = cast(ast.Attribute, node.func).value if not node.args else node.args[0]
        keywords = {k.arg: k.value for k in node.keywords}
        axis = keywords.get("axis")
        if (
            set(keywords) != {"axis"}
            or not isinstance(axis, ast.Constant)
            or axis.value != 0
            or getattr(node.func, "attr", "") != "sum"
        ):
            return None
        if not all(s is not None and len(s) == 2 for s in solution.shapes(operand, index)):
            return None
        ones = _call(_np("ones"), _call(ast.Name("len", ast.Load()), operand))
        return ast.BinOp(ones, ast.MatMult(), operand)

    yield from per_site(solution, "sum_as_np_sum", _sum_call, as_function)
    yield from per_site(solution, "column_sum_as_product", _sum_call, as_product)


def vector_matrix_spelled(solution: Solution) -> Iterator[Derived]:
    """``A.T @ v`` for a vector ``v`` as ``v @ A``."""

    def make(node: ast.BinOp, index: int) -> ast.AST | None:
        if not (isinstance(node.left, ast.Attribute) and node.left.attr == "T"):
            return None
        matrix, vector = solution.shapes(node.left.value, index), solution.shapes(node.right, index)
        if not (
            all(s is not None and len(s) == 2 for s in matrix)
            and all(s is not None and len(s) == 1 for s in vector)
        ):
            return None
        return ast.BinOp(node.right, ast.MatMult(), node.left.value)

    yield from per_site(solution, "vector_times_matrix", _is(ast.BinOp, ast.MatMult), make)


def slope_spelled(solution: Solution) -> Iterator[Derived]:
    """``h * (1 - h)`` (the logistic's slope) as ``h - h ** 2``."""

    def make(node: ast.BinOp, index: int) -> ast.AST | None:
        right = node.right
        if not (
            isinstance(right, ast.BinOp)
            and isinstance(right.op, ast.Sub)
            and isinstance(right.left, ast.Constant)
            and right.left.value == 1
            and ast.dump(right.right) == ast.dump(_rightmost(node.left))
        ):
            return None
        if isinstance(node.left, ast.BinOp) and isinstance(node.left.op, ast.Mult):
            h = node.left.right
            slope = ast.BinOp(h, ast.Sub(), ast.BinOp(copy.deepcopy(h), ast.Pow(), ast.Constant(2)))
            return ast.BinOp(node.left.left, ast.Mult(), slope)
        h = node.left
        return ast.BinOp(h, ast.Sub(), ast.BinOp(copy.deepcopy(h), ast.Pow(), ast.Constant(2)))

    yield from per_site(solution, "slope_as_difference", _is(ast.BinOp, ast.Mult), make)


def _rightmost(node: ast.expr) -> ast.expr:
    """The last factor of a product (``h`` of ``d * h``), or the node itself."""
    return node.right if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) else node


def annotated(solution: Solution) -> Iterator[Derived]:
    """Every step assigned with a type annotation, ``s: np.ndarray = ...``."""
    tree = solution.tree
    body = solution.body(tree)
    found = False
    for index, statement in _step_assignments(solution, tree):
        body[index] = ast.AnnAssign(
            ast.Name(cast(ast.Name, statement.targets[0]).id, ast.Store()),
            _np("ndarray"),
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
