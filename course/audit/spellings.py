"""Rewrites that spell a step with other numpy operations computing the same values: ``@`` as
``np.dot``, ``np.matmul`` or ``np.einsum``, transposes, element-wise functions with ``out=``,
sums with and without ``keepdims``, outer products, sums as products with ones, a product
``h * (1 - h)`` as a difference. Each must earn full marks, unflagged
(:mod:`course.audit.rewrites`)."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from typing import cast

import numpy as np

from course.audit.derived import Derived
from course.audit.sites import call, is_operation, numpy_attribute, per_site
from course.audit.syntax import Solution


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
            call(numpy_attribute(name), n.left, n.right)
            if _matrices(solution, n.left, n.right, i)
            else None
        )

    yield from per_site(
        solution, "matmul_as_dot", is_operation(ast.BinOp, ast.MatMult), as_call("dot")
    )
    yield from per_site(
        solution, "matmul_as_matmul", is_operation(ast.BinOp, ast.MatMult), as_call("matmul")
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
        return call(
            numpy_attribute("einsum"),
            ast.Constant(f"{a},{b}->{out}"),
            node.left,
            node.right,
            **keywords,
        )

    yield from per_site(
        solution,
        "matmul_as_einsum",
        is_operation(ast.BinOp, ast.MatMult),
        lambda n, i: einsum(n, i, optimize=False),
    )
    yield from per_site(
        solution,
        "matmul_as_einsum_optimized",
        is_operation(ast.BinOp, ast.MatMult),
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
        solution,
        "T_as_np_transpose",
        is_t,
        lambda n, i: call(numpy_attribute("transpose"), n.value),
    )
    yield from per_site(
        solution,
        "T_as_method",
        is_t,
        lambda n, i: call(ast.Attribute(n.value, "transpose", ast.Load())),
    )


def elementwise_spelled(solution: Solution) -> Iterator[Derived]:
    """``a * b`` as ``np.multiply(a, b)``; ``a * b`` and ``a + b`` with operands swapped."""

    def numeric(n: ast.BinOp, i: int) -> bool:
        return solution.is_numeric(n.left, i) and solution.is_numeric(n.right, i)

    yield from per_site(
        solution,
        "multiply_as_function",
        is_operation(ast.BinOp, ast.Mult),
        lambda n, i: call(numpy_attribute("multiply"), n.left, n.right) if numeric(n, i) else None,
    )
    for op in (ast.Mult, ast.Add):
        yield from per_site(
            solution,
            f"commuted_{op.__name__.lower()}",
            is_operation(ast.BinOp, op),
            lambda n, i: ast.BinOp(n.right, n.op, n.left) if numeric(n, i) else None,
        )


def out_argument(solution: Solution) -> Iterator[Derived]:
    """``a * b`` (and ``+``, ``-``, ``/``) computed into a fresh array with ``out=``."""
    functions = {ast.Mult: "multiply", ast.Add: "add", ast.Sub: "subtract", ast.Div: "divide"}

    def make(node: ast.BinOp, index: int) -> ast.AST | None:
        value = solution.value(node, index)
        if not isinstance(value, np.ndarray) or value.dtype != np.float64:
            return None
        shape = call(
            numpy_attribute("broadcast_shapes"),
            call(numpy_attribute("shape"), copy.deepcopy(node.left)),
            call(numpy_attribute("shape"), copy.deepcopy(node.right)),
        )
        return call(
            numpy_attribute(functions[type(node.op)]),
            node.left,
            node.right,
            out=call(numpy_attribute("empty"), shape),
        )

    yield from per_site(
        solution,
        "out_argument",
        lambda n: isinstance(n, ast.BinOp) and type(n.op) in functions,
        make,
    )


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
            return call(ast.Attribute(new, "ravel", ast.Load()))
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
        return call(numpy_attribute("outer"), left.value, node.right)

    yield from per_site(solution, "outer_as_np_outer", is_operation(ast.BinOp, ast.Mult), make)


def sum_spelled(solution: Solution) -> Iterator[Derived]:
    """``x.sum(axis=k)`` as ``np.sum(x, axis=k)``, and a column sum of a matrix as a product
    with a vector of ones."""

    def as_function(node: ast.Call, index: int) -> ast.AST | None:
        if node.args or not isinstance(node.func, ast.Attribute) or node.func.attr != "sum":
            return None
        return call(
            numpy_attribute("sum"),
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
        ones = call(numpy_attribute("ones"), call(ast.Name("len", ast.Load()), operand))
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

    yield from per_site(solution, "vector_times_matrix", is_operation(ast.BinOp, ast.MatMult), make)


def slope_spelled(solution: Solution) -> Iterator[Derived]:
    """``h * (1 - h)`` (a sigmoid's slope, say) as ``h - h ** 2``."""

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

    yield from per_site(solution, "slope_as_difference", is_operation(ast.BinOp, ast.Mult), make)


def _rightmost(node: ast.expr) -> ast.expr:
    """The last factor of a product (``h`` of ``d * h``), or the node itself."""
    return node.right if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) else node
