"""Every figure a lab draws can be read without seeing it: alt text in its cell's metadata
(``alt``, which nbconvert's HTML exporters put on the image), kept in the student version, and a
caption cell under it saying what to see."""

from __future__ import annotations

import nbformat
import pytest

from course.grading.admission import labs_of
from tests.support.paths import ROOT


def _notebook(folder: str, lab: str) -> nbformat.NotebookNode:
    (path,) = sorted((ROOT / folder / lab).glob("*.ipynb"))
    return nbformat.read(path, as_version=4)


def _figure_cells(notebook) -> list[int]:
    """Indexes of the code cells whose stored outputs hold an image."""
    return [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        and any("image/png" in output.get("data", {}) for output in cell.outputs)
    ]


@pytest.mark.parametrize("lab", labs_of(ROOT))
def test_every_figure_has_alt_text_and_a_caption(lab):
    source = _notebook("source", lab)
    figures = _figure_cells(source)
    assert figures, f"the executed {lab} notebook holds no figure: run `course execute {lab}`"
    for index in figures:
        cell = source.cells[index]
        alt = cell.metadata.get("alt", "")
        assert len(alt.split()) >= 10, f"{lab} cell {index} draws a figure without alt text"
        caption = source.cells[index + 1]
        assert caption.cell_type == "markdown" and caption.source.startswith("*Figure:"), index


@pytest.mark.parametrize("lab", labs_of(ROOT))
def test_the_student_version_keeps_the_alt_text(lab):
    alts = {
        cell.id: cell.metadata["alt"]
        for cell in _notebook("source", lab).cells
        if "alt" in cell.metadata
    }
    released = {cell.id: cell.metadata.get("alt") for cell in _notebook("release", lab).cells}
    assert {cell_id: released.get(cell_id) for cell_id in alts} == alts
