"""helpers.plotting and Dataset.plot: every plot renders to PNG headless, labels are validated."""

import matplotlib

matplotlib.use("Agg")  # headless, as on CI

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import network
from helpers.datasets import Annuli, UClasses
from helpers.plotting import (
    as_class_probabilities,
    plot_decision_regions,
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
