"""A matplotlib backend for kernels that grade: figures are built but never drawn.

``course grade`` starts every graded kernel with ``MPLBACKEND=module://judge_runtime.grading_backend``.
Nothing graded depends on a figure, and rendering a notebook's plots to PNG costs about a
fifth of grading one student. Code that plots still runs in full (so an error in it still
shows), ``savefig`` and ``canvas.draw()`` still work on request, and, as with Jupyter's
inline backend, figures are closed by ``plt.show()`` and at the end of every cell, so they
never pile up. Students' own kernels are not affected.
"""

from __future__ import annotations

from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase


def show(*args, **kwargs) -> None:
    """Close every open figure without drawing it (plt.show's place in this backend)."""
    Gcf.destroy_all()


def _close_figures_after_each_cell() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing runs cells
        return
    shell = get_ipython()
    if shell is not None:
        shell.events.register("post_run_cell", lambda result: Gcf.destroy_all())


_close_figures_after_each_cell()
