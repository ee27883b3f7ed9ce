"""helpers.datasets: the original module's interface, determinism, balance and bad arguments."""

import numpy as np
import pytest

from helpers.datasets import Annuli, UClasses

MAKERS = [
    pytest.param(lambda **k: Annuli(**k), 3, id="Annuli"),
    pytest.param(lambda **k: UClasses(**k), 2, id="UClasses"),
    pytest.param(lambda **k: UClasses(n_classes=4, **k), 4, id="UClasses-4"),
]


@pytest.mark.parametrize(("make", "n_classes"), MAKERS)
def test_interface_shapes_and_one_hot_targets(make, n_classes):
    ds = make(n=301, seed=1)
    X, T = ds.inputs(), ds.targets()
    assert len(ds) == 301
    assert ds.input_dim == 2 and ds.n_classes == n_classes
    assert X.shape == (301, 2) and X.dtype == np.float64
    assert T.shape == (301, n_classes) and T.dtype == np.float64
    assert np.all(T.sum(axis=1) == 1.0) and set(np.unique(T)) == {0.0, 1.0}


@pytest.mark.parametrize(("make", "n_classes"), MAKERS)
def test_classes_are_balanced(make, n_classes):
    counts = make(n=1000, seed=2).targets().sum(axis=0)
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize(("make", "n_classes"), MAKERS)
def test_same_seed_same_data_other_seed_other_data(make, n_classes):
    a, b, c = make(n=200, seed=5), make(n=200, seed=5), make(n=200, seed=6)
    assert np.array_equal(a.inputs(), b.inputs()) and np.array_equal(a.targets(), b.targets())
    assert not np.array_equal(a.inputs(), c.inputs())


def test_annuli_lies_in_the_unit_square_with_disc_inside_rings():
    ds = Annuli(n=3000, noise=1.0, seed=0)
    radius = np.linalg.norm(ds.inputs(), axis=1)
    labels = ds.targets().argmax(axis=1)
    assert np.mean(np.abs(ds.inputs()) <= 1.1) > 0.99
    medians = [np.median(radius[labels == k]) for k in range(3)]
    assert medians[0] < medians[1] < medians[2]


def test_annuli_noise_zero_gives_clean_rings_and_noise_widens_them():
    def outer_ring_radii(ds):
        return np.linalg.norm(ds.inputs(), axis=1)[ds.targets().argmax(axis=1) == 2]

    clean, noisy = Annuli(n=900, noise=0.0, seed=0), Annuli(n=900, noise=1.0, seed=0)
    assert outer_ring_radii(clean).std() < 1e-12
    assert outer_ring_radii(noisy).std() > 0.02
    disc = np.linalg.norm(clean.inputs(), axis=1)[clean.targets().argmax(axis=1) == 0]
    assert disc.max() <= Annuli.DISC_RADIUS


def test_uclasses_interleave():
    ds = UClasses(n=2000, noise=0.0, seed=0)
    X, labels = ds.inputs(), ds.targets().argmax(axis=1)
    # each U's tips reach past the other's middle: the x-ranges overlap
    assert X[labels == 0, 0].max() > X[labels == 1, 0].min()


@pytest.mark.parametrize("n", [0, -5, 2.5, "10", True])
def test_bad_sizes_say_what_was_expected(n):
    with pytest.raises(ValueError, match="n must be a positive whole number"):
        Annuli(n=n)


@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf"), "loud"])
def test_bad_noise_says_what_was_expected(noise):
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        UClasses(noise=noise)


def test_bad_class_count():
    with pytest.raises(ValueError, match="n_classes must be a whole number >= 2"):
        UClasses(n_classes=1)


def test_inputs_are_copies():
    ds = Annuli(n=10, seed=0)
    ds.inputs()[:] = 99.0
    assert not np.any(ds.inputs() == 99.0)


@pytest.mark.parametrize(("make", "n_classes"), MAKERS)
def test_a_sample_drawn_again_is_fresh_points_of_the_same_kind(make, n_classes):
    ds = make(n=300, seed=1, noise=0.05)
    again = ds.sample_again(200, seed=5)
    assert type(again) is type(ds) and len(again) == 200 and again.n_classes == n_classes
    assert again.noise == ds.noise
    assert not np.isin(again.inputs(), ds.inputs()).all(axis=1).any()  # no point repeated
    assert np.array_equal(again.inputs(), make(n=200, seed=5, noise=0.05).inputs())


def test_points_given_by_hand_cannot_be_drawn_again():
    from helpers.datasets import Dataset

    with pytest.raises(TypeError, match="cannot draw more"):
        Dataset(np.zeros((3, 2)), np.zeros(3), 2).sample_again(3, seed=0)
