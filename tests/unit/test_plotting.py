"""helpers.plotting and Dataset.plot: every plot renders to PNG headless, labels are validated."""

import matplotlib

matplotlib.use("Agg")  # headless, as on CI

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import network
from helpers.datasets import Annuli, UClasses
from helpers.plotting import (
    CLASS_COLOURS,
    as_class_probabilities,
    plot_decision_regions,
    plot_hidden_units,
    plot_loss,
    scatter_classes,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def render(ax, path):
    ax.figure.savefig(path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    return data


def network_probabilities(X):
    params = network.init_parameters(2, 10, 3, np.random.default_rng(0))
    return network.outputs(X, **params)


@pytest.mark.parametrize("form", ["none", "indices", "one-hot", "probabilities", "list of rows"])
def test_dataset_plot_accepts_every_label_form(form, tmp_path):
    ds = Annuli(n=200, seed=0)
    probabilities = network_probabilities(ds.inputs())
    labels = {
        "none": None,
        "indices": ds.targets().argmax(axis=1),
        "one-hot": ds.targets(),
        "probabilities": probabilities,
        "list of rows": list(probabilities),
    }[form]
    ax = ds.plot(labels=labels)
    render(ax, tmp_path / "scatter.png")
    assert len(ax.collections) == 1


def test_uncertain_outputs_are_drawn_as_blends():
    ds = Annuli(n=3, seed=0)
    ax = ds.plot(labels=np.full((3, 3), 1 / 3))
    colours = ax.collections[0].get_facecolors()[:, :3]
    pure = ds.plot(labels=np.eye(3)).collections[0].get_facecolors()[:, :3]
    assert np.allclose(colours, pure.mean(axis=0))


def test_plot_draws_on_the_axes_it_is_given():
    _, ax = plt.subplots()
    assert UClasses(n=50, seed=0).plot(ax=ax) is ax


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.zeros(199, dtype=int), "labels has 199 rows but the data set has 200 points"),
        (np.zeros((200, 4)), r"expected \(200,\) class indices or \(200, 3\)"),
        (np.full(200, 3), r"class indices must lie in 0..2"),
        (np.ones((200, 3)), "must sum to 1"),
        (-np.eye(3)[np.zeros(200, dtype=int)], "non-negative"),
    ],
)
def test_wrong_labels_say_what_was_expected(labels, message):
    with pytest.raises(ValueError, match=message):
        Annuli(n=200, seed=0).plot(labels=labels)


def test_loss_curve_renders(tmp_path):
    ax = plot_loss([1.0, 0.5, 0.3], label="training")
    render(ax, tmp_path / "loss.png")
    assert ax.get_xlabel() == "Epoch" and ax.get_ylabel() == "Loss"
    assert list(ax.lines[0].get_ydata()) == [1.0, 0.5, 0.3]


def test_decision_regions_render_behind_the_data(tmp_path):
    ds = Annuli(n=100, seed=0)
    ax = ds.plot()
    plot_decision_regions(network_probabilities, ax=ax, resolution=30)
    render(ax, tmp_path / "regions.png")
    assert len(ax.images) == 1 and ax.images[0].get_array().shape == (30, 30, 3)
    assert ax.images[0].zorder < ax.collections[0].zorder


def test_decision_regions_reject_a_wrong_predict():
    with pytest.raises(ValueError, match="predict must return class probabilities"):
        plot_decision_regions(lambda P: P[:, 0], resolution=10)


def test_scatter_classes_draws_on_a_new_axes_when_none_given():
    _, existing = plt.subplots()  # the current axes: a new plot must not land on it
    ax = scatter_classes(np.zeros((2, 2)), np.eye(2))
    assert ax is not existing and not existing.collections
    assert ax.collections[0].get_offsets().shape == (2, 2)


def test_as_class_probabilities_passes_rows_through():
    rows = np.array([[0.2, 0.8], [1.0, 0.0]])
    assert np.array_equal(as_class_probabilities(rows, 2, 2), rows)


def _relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB colours in [0, 1], shape (..., 3) -> (...)."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def _contrast(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    la, lb = _relative_luminance(a), _relative_luminance(b)
    return (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)


# Deuteranopia (severity 1), Machado, Oliveira & Fernandes (2009), on linear RGB.
DEUTERANOPIA = np.array(
    [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ]
)


def test_decision_regions_and_points_can_be_told_apart_in_the_picture():
    """Rendered as a student sees it: three regions, each with a point of every other class
    inside. The regions differ from each other (also for a deuteranope), and every point
    has a rim that stands out from the region it sits on."""

    def predict(points):  # three sectors by angle
        sector = (
            np.floor((np.arctan2(points[:, 1], points[:, 0]) + np.pi) / (2 * np.pi / 3)).astype(int)
            % 3
        )
        return np.eye(3)[sector]

    centres = np.array([[-0.6, -0.3], [0.6, -0.3], [0.0, 0.7]])  # one per sector
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    plot_decision_regions(predict, ax=ax)
    others = [
        (centre + np.array([0.15 * k, 0.0]), k)
        for centre in centres
        for k in range(3)
        if k != predict(centre[None])[0].argmax()
    ]
    scatter_classes(
        np.array([p for p, _ in others]), np.eye(3)[[k for _, k in others]], ax=ax, size=60
    )
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3] / 255.0
    to_pixels = ax.transData.transform
    height = image.shape[0]

    def pixel(xy):
        x, y = to_pixels(xy)
        return image[int(height - y), int(x)]

    regions = np.array([pixel(centre + np.array([0.0, -0.2])) for centre in centres])
    for colours in (regions, np.clip(regions @ DEUTERANOPIA.T, 0, 1)):
        for i in range(3):
            for j in range(i + 1, 3):
                assert np.abs(colours[i] - colours[j]).max() > 0.1, (i, j, colours)
    for (point, _), region in zip(others, np.repeat(regions, 2, axis=0), strict=True):
        x, y = to_pixels(point)
        patch = image[int(height - y) - 6 : int(height - y) + 7, int(x) - 6 : int(x) + 7]
        darkest = patch.reshape(-1, 3)[_relative_luminance(patch.reshape(-1, 3)).argmin()]
        assert _contrast(darkest, region) >= 3.0, (point, darkest, region)
    plt.close(fig)


@pytest.mark.parametrize("dataset", [Annuli(n=60, seed=0), UClasses(n=60, seed=0)])
def test_every_class_is_named_in_a_legend_by_its_colour(dataset):
    ax = dataset.plot()
    legend = ax.get_legend()
    names = [text.get_text() for text in legend.get_texts()]
    assert names == [f"class {c}" for c in range(dataset.n_classes)]
    colours = [handle.get_markerfacecolor()[:3] for handle in legend.legend_handles]
    assert np.allclose(colours, CLASS_COLOURS[: dataset.n_classes])


def test_loss_curves_on_one_axes_differ_in_line_style_as_well_as_colour():
    ax = plot_loss([3.0, 2.0, 1.0], label="a")
    for label in ("b", "c", "d"):
        plot_loss([3.0, 2.5, 2.0], ax=ax, label=label)
    styles = [line.get_linestyle() for line in ax.get_lines()]
    assert len(set(styles)) == 4


def test_each_hidden_unit_is_drawn_where_its_input_is_zero():
    W1 = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [0.0, 0.0]])  # the last: no line
    b1 = np.array([-0.5, 0.4, 0.0, 1.0])
    ax = plot_hidden_units(W1, b1)
    lines = ax.get_lines()
    assert len(lines) == 3
    for line, w, b in zip(lines, W1, b1, strict=False):
        points = np.column_stack(line.get_data())
        assert np.allclose(points @ w + b, 0.0)
    assert len({line.get_linestyle() for line in lines}) == 3
    assert [text.get_text() for text in ax.texts] == ["0", "1", "2"]


def test_hidden_units_of_another_shape_are_refused():
    with pytest.raises(ValueError, match=r"W1 of shape \(m, 2\)"):
        plot_hidden_units(np.zeros((3, 4)), np.zeros(3))
