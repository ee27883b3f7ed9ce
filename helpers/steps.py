"""Find the steps of a student's graded function by what its statements assign, so each step
can be run and judged on its own.

A step is declared by name (``dloss_dy``, ``dloss_dbeta``...). In the student's function, the
statements of a step are the top-level statements of its body that write that name: plain,
tuple, annotated and augmented assignments, several on one line or in any order the data
allow, a loop filling it entry by entry, ``out=`` and the like (:func:`written_names`).
Comments and blank lines play no part: the same code judges the same with or without them.

From the function's syntax tree this module compiles, in the function's own namespace:

* a **recording** copy of the function, which keeps a copy of each declared name right after
  the last statement that writes it (so a later in-place change or a reused array never
  alters what a step computed), and
* one **step function** per step the function writes, which runs the body on the true values
  of everything before that step: the given forward values once the statements before the
  first step have run, and the true value of each earlier step in place of the statements
  that compute only earlier steps. Every other statement runs as the student wrote it (a
  helper value computed beside an earlier step is computed from true inputs); one that raises
  without writing the step is passed over. The step's value is taken right after its last
  write; an error in a statement that writes it is the step's own.

A step the function never writes has no step function; the caller judges the returned
gradients instead.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from dataclasses import dataclass

STEPS_FILE = "<your backprop, step by step>"  # what the step functions are compiled as
RECORDING = "_course_recording_"
STEP_FUNCTION = "_course_step_{name}_"
TRUE_VALUE = "_course_true_"  # the step function's parameter: name -> a fresh true value
RECORD = "_course_record_"  # both functions' parameter: (names, locals()) -> None
FAILED = "_course_failed_"  # the step function's parameter: (error, writes the step) -> None
_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                  ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def written_names(statement: ast.stmt) -> frozenset[str]:
    """The names of the function's own scope that ``statement`` may write or change in place:
    assignment targets (a subscript or attribute target changes its base name), loop and
    ``with`` targets, ``out=`` arguments, and the arrays a bare call statement is given or
    called on (``np.copyto(a, b)``, ``a.fill(0)``). Names inside nested functions, classes,
    lambdas and comprehensions are their own scope's."""
    names: set[str] = set()

    def base(node: ast.expr) -> None:
        while isinstance(node, ast.Subscript | ast.Attribute | ast.Starred):
            node = node.value
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Tuple | ast.List):
            for element in node.elts:
                base(element)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                base(target)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor):
            base(node.target)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "out":
                    base(keyword.value)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            if isinstance(call.func, ast.Attribute):
                base(call.func.value)
            for argument in call.args:
                if isinstance(argument, ast.Name | ast.Subscript | ast.Attribute):
                    base(argument)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            return
        if isinstance(node, _NESTED_SCOPES):
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(statement)
    return frozenset(names)


@dataclass(frozen=True)
class StepPlan:
    """One graded function's statements, what each writes, and its declared names.

    ``steps`` are the declared steps in chain order; ``forward`` the given forward values
    (their true values are known before any step); ``writes[i]`` what statement ``i`` of
    ``node.body`` writes; ``prefix`` how many statements come before the first that writes a
    step."""

    node: ast.FunctionDef
    steps: tuple[str, ...]
    forward: tuple[str, ...]
    writes: tuple[frozenset[str], ...]
    prefix: int
    local_names: frozenset[str]

    @property
    def written_steps(self) -> tuple[str, ...]:
        """The steps some statement of the function writes, in chain order."""
        return tuple(name for name in self.steps if self.last_write(name) is not None)

    def last_write(self, name: str) -> int | None:
        """The index of the last statement that writes ``name``; None when none does."""
        found = [i for i, names in enumerate(self.writes) if name in names]
        return found[-1] if found else None

    def recording_function(self) -> ast.Module:
        """``def _course_recording_(<the function's parameters>, *, _course_record_)``: the
        function as written, calling ``_course_record_(names, locals())`` right after the
        last write of each declared name (``names``: those written last there)."""
        declared = (*self.forward, *self.steps)
        body: list[ast.stmt] = []
        for index, statement in enumerate(self.node.body):
            body.append(statement)
            done = [name for name in declared if self.last_write(name) == index]
            if done:
                body.append(_call_statement(RECORD, ast.Constant(tuple(done)), _locals()))
        return self._module(RECORDING, body, (RECORD,))

    def step_function(self, name: str) -> ast.Module:
        """``def _course_step_<name>_(<parameters>, *, _course_true_, _course_record_,
        _course_failed_)``: the body run on the true values of everything before step
        ``name`` (see the module's docstring), returning right after the step's last write."""
        last = self.last_write(name)
        if last is None:
            raise ValueError(f"the function never writes {name}")
        earlier = set(self.steps[:self.steps.index(name)])
        given = [n for n in self.forward if n in self.local_names]
        body: list[ast.stmt] = []
        for index, statement in enumerate(self.node.body[:last + 1]):
            writes = self.writes[index]
            if index == self.prefix:  # the forward pass is done: its true values from here
                body += [_bind_true(n) for n in (*given, *sorted(earlier & self.local_names))]
            if index >= self.prefix and writes and writes <= earlier:
                continue  # computes only earlier steps, whose true values are bound
            owns = name in writes
            body.append(_guarded(statement, stop=owns))
            body += [_bind_true(n) for n in sorted(writes & earlier)]
        body.append(_call_statement(RECORD, ast.Constant((name,)), _locals()))
        return self._module(STEP_FUNCTION.format(name=name), body, (TRUE_VALUE, RECORD, FAILED))

    def _module(self, function_name: str, body: list[ast.stmt],
                keywords: tuple[str, ...]) -> ast.Module:
        node = copy.copy(self.node)
        node.name = function_name
        node.decorator_list = []
        node.returns = None
        node.args = copy.copy(node.args)
        node.args.kwonlyargs = [*node.args.kwonlyargs, *(ast.arg(k) for k in keywords)]
        node.args.kw_defaults = [*node.args.kw_defaults, *(None for _ in keywords)]
        # The function's own local names stay local, whatever statements were left out (a
        # name read before its assignment fails as in the student's run, never reads a
        # notebook variable of the same name).
        keep_local = [ast.Name(n, ast.Store()) for n in sorted(self.local_names)]
        never = ([ast.If(ast.Constant(False), [ast.Assign(keep_local, ast.Constant(None))], [])]
                 if keep_local else [])
        node.body = [*copy.deepcopy(body), *never] or [ast.Pass()]
        module = ast.Module([node], type_ignores=[])
        return ast.fix_missing_locations(module)


def _locals() -> ast.Call:
    return ast.Call(ast.Name("locals", ast.Load()), [], [])


def _call_statement(function: str, *arguments: ast.expr) -> ast.Expr:
    return ast.Expr(ast.Call(ast.Name(function, ast.Load()), list(arguments), []))


def _bind_true(name: str) -> ast.Assign:
    """``name = _course_true_("name")``."""
    call = ast.Call(ast.Name(TRUE_VALUE, ast.Load()), [ast.Constant(name)], [])
    return ast.Assign([ast.Name(name, ast.Store())], call)


def _guarded(statement: ast.stmt, stop: bool) -> ast.Try:
    """``statement`` in ``try``: what it raises goes to ``_course_failed_(error, stop)``, and
    the step function returns when ``stop`` (the statement writes the judged step)."""
    error = "_course_error_"
    handler_body: list[ast.stmt] = [_call_statement(FAILED, ast.Name(error, ast.Load()),
                                                    ast.Constant(stop))]
    if stop:
        handler_body.append(ast.Return(ast.Constant(None)))
    handler = ast.ExceptHandler(ast.Name("BaseException", ast.Load()), error, handler_body)
    located = ast.copy_location(ast.Try([statement], [handler], [], []), statement)
    for node in (handler, *handler_body):
        ast.copy_location(node, statement)
    return located


def _function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    found = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name]
    return found[-1] if found else None


def _local_names(node: ast.FunctionDef) -> frozenset[str]:
    """The local variables of the function ``node`` defines (its parameters excluded)."""
    module = ast.Module([copy.deepcopy(node)], type_ignores=[])
    code = compile(module, "<function>", "exec")
    function_code = next(c for c in code.co_consts if hasattr(c, "co_varnames"))
    parameters = function_code.co_varnames[:function_code.co_argcount
                                           + function_code.co_kwonlyargcount]
    names = set(function_code.co_varnames) | set(function_code.co_cellvars)
    return frozenset(n for n in names - set(parameters) if n.isidentifier())


def split_steps(cell_source: str, function: str, steps: tuple[str, ...],
                forward: tuple[str, ...] = ()) -> StepPlan | None:
    """The plan of ``function`` (the last top-level definition of it in ``cell_source``) for
    the declared ``steps`` (chain order) and ``forward`` values; None when the source does
    not parse or has no such function."""
    try:
        tree = ast.parse(cell_source)
    except SyntaxError:
        return None
    node = _function(tree, function)
    if node is None or not node.body:
        return None
    writes = tuple(written_names(statement) for statement in node.body)
    prefix = next((i for i, names in enumerate(writes) if names & set(steps)), len(writes))
    try:
        local_names = _local_names(node)
    except SyntaxError:
        return None
    return StepPlan(node, tuple(steps), tuple(forward), writes, prefix, local_names)


def compile_plan(plan: StepPlan, filename: str, namespace: dict) -> dict[str, Callable]:
    """Define the plan's functions in ``namespace`` (the graded function's globals), compiled
    as ``filename``: ``{"": recording function, step name: step function}``. Steps whose code
    does not compile (a ``global`` statement moved past a use, say) are left out."""
    functions: dict[str, Callable] = {}
    for key, module, defined in (("", plan.recording_function(), RECORDING),
                                 *((name, plan.step_function(name),
                                    STEP_FUNCTION.format(name=name))
                                   for name in plan.written_steps)):
        try:
            exec(compile(module, filename, "exec"), namespace)
        except SyntaxError:
            continue
        functions[key] = namespace.pop(defined)
    return functions
