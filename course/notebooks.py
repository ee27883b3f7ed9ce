"""Execute notebooks with a real kernel, storing outputs the way Jupyter shows them."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

from course.grading.kernels import LocalKernelManager

DEFAULT_TIMEOUT = 600


def execute_notebook(
    source: Path, target: Path, env: dict | None = None, timeout: int = DEFAULT_TIMEOUT
) -> nbformat.NotebookNode:
    """Run every cell of ``source`` in a fresh kernel started in its folder; write to ``target``.

    Stream outputs are merged (a progress bar is stored as its final line, not as hundreds of
    updates). ``env`` is added to the kernel's environment. Raises
    ``nbclient.exceptions.CellExecutionError`` if a cell fails.
    """
    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        kernel_manager_class=LocalKernelManager,
        resources={"metadata": {"path": str(Path(source).parent)}},
    )
    kernel_env = {**os.environ, **(env or {})}
    client.execute(env=kernel_env)
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return nb


def cells_by_grade_id(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """Every cell that has an nbgrader grade_id, by that id."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id")
    }


def cell_by_grade_id(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """The cell whose nbgrader grade_id is ``grade_id``; KeyError naming it if there is none."""
    try:
        return cells_by_grade_id(nb)[grade_id]
    except KeyError:
        raise KeyError(f"no cell with grade_id {grade_id!r}") from None
