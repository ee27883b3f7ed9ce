"""nbgrader preprocessor: no feedback page shows where the grader keeps its files.

Tracebacks and warnings name the files they come from: the course's helpers
(``/srv/course/helpers/network.py``), the Python installation, IPython's temporary file for each
cell (``/tmp/ipykernel_812/624334389.py``). A student needs the file's name and line, not the
grader's layout; each path is cut to its last part, and a cell's temporary file is called
"this cell".
"""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor

# A path of two or more folders: "/a/b/c.py" becomes "c.py"; not the tail of a relative path,
# a date or base64 ("labs/lab1/x.py", "2024/01/02"), which a word character or a slash precedes.
ABSOLUTE_PATH = re.compile(r"(?<![\w/.+=-])(?:/[\w.+@~-]+)+/([\w.+@~-]+)")
# Terminal colours, between which a traceback's paths stand (split off before matching).
ANSI = re.compile(r"(\x1b\[[0-9;]*m)")
# IPython compiles each cell as a numbered file: "(624334389.py, line 22)".
CELL_FILE = re.compile(r"\b\d{6,}\.py\b")


URL = re.compile(r"\w+://\S+")


def hide_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last part and cell files named; web
    addresses are left whole."""
    pieces, position = [], 0
    for url in URL.finditer(text):
        pieces += [_hide(text[position : url.start()]), url.group()]
        position = url.end()
    return "".join([*pieces, _hide(text[position:])])


def _hide(text: str) -> str:
    return "".join(
        piece
        if ANSI.fullmatch(piece)
        else CELL_FILE.sub("this cell", ABSOLUTE_PATH.sub(r"\1", piece))
        for piece in ANSI.split(text)
    )


class HideGraderPaths(NbGraderPreprocessor):
    """Cut the grader's file paths out of every output's text, message and traceback."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = hide_paths(output["text"])
            if "evalue" in output:
                output["evalue"] = hide_paths(output["evalue"])
            if "traceback" in output:
                output["traceback"] = [hide_paths(line) for line in output["traceback"]]
            for kind in ("text/plain", "text/markdown"):  # HTML, sanitised, is left whole
                if isinstance(output.get("data", {}).get(kind), str):
                    output["data"][kind] = hide_paths(output["data"][kind])
        return cell, resources
