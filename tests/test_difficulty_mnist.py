"""MNIST difficulty factors: image transforms, source pools, test datasets, the grid, previews."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from PIL import Image

from gan_oversampling.datasets.mnist import load_mnist
from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.difficulty.images import (
    area_resize,
    area_weights,
    rotate_images,
    to_unit_range,
)
from gan_oversampling.difficulty.mnist import MnistSource, build_pool, make_test_dataset
from gan_oversampling.errors import UserError
from gan_oversampling.study.spec import MnistData, parse_study

POOL_ROWS = 2 * 5842


def _message(info: pytest.ExceptionInfo) -> str:
    # pydantic's "Value error, " prefix is formatting, not part of the message checked here.
    return str(info.value).replace("Value error, ", "")


@pytest.fixture(scope="module")
def fours() -> np.ndarray:
    """The training 4s in [-1, 1], computed here independently of the package's scaling."""
    images, labels = load_mnist("train")
    return (images[labels == 4].astype(np.float64) / 255 * 2 - 1).astype(np.float32)


def pil_rotate(image: np.ndarray, angle: float) -> np.ndarray:
    rotated = Image.fromarray(image, mode="F").rotate(angle, resample=Image.NEAREST, fillcolor=-1)
    return np.asarray(rotated)


# --- image transforms --------------------------------------------------------------------


def test_to_unit_range_maps_ends_and_middle():
    scaled = to_unit_range(np.array([0, 51, 255], dtype=np.uint8))
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, [-1.0, -0.6, 1.0], atol=1e-7)


def test_to_unit_range_rejects_non_pixels():
    with pytest.raises(UserError, match="uint8"):
        to_unit_range(np.array([0.5, 1.0]))


@pytest.mark.parametrize("angle", [30, 45, 90, -17.5])
def test_rotation_equals_pil(fours, angle):
    sample = fours[:25]
    rotated = rotate_images(sample, angle)
    expected = np.stack([pil_rotate(image, angle) for image in sample])
    assert rotated.dtype == np.float32 and rotated.shape == sample.shape
    assert np.array_equal(rotated, expected)


def test_rotation_is_counter_clockwise_and_fills_corners(fours):
    assert np.array_equal(rotate_images(fours[:5], 90), np.rot90(fours[:5], k=1, axes=(1, 2)))
    assert np.array_equal(rotate_images(fours[:5], 360), fours[:5])
    white = np.ones((1, 28, 28), dtype=np.float32)
    turned = rotate_images(white, 45)[0]
    assert turned[0, 0] == -1 and turned[27, 27] == -1 and turned[14, 14] == 1
    assert set(np.unique(turned)) == {-1.0, 1.0}


@pytest.mark.parametrize("angle", [float("nan"), float("inf"), "30", True, None])
def test_rotation_rejects_bad_angle(fours, angle):
    with pytest.raises(UserError, match="rotation angle"):
        rotate_images(fours[:2], angle)


@pytest.mark.parametrize("side", [14, 8, 4, 7, 5, 20])
def test_area_resize_equals_opencv(fours, side):
    cv2 = pytest.importorskip("cv2")
    sample = np.concatenate([fours[:40], rotate_images(fours[40:60], 30)])
    resized = area_resize(sample, side)
    expected = np.stack(
        [cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA) for image in sample]
    )
    assert resized.dtype == np.float32 and resized.shape == (60, side, side)
    assert np.abs(resized - expected).max() < 1e-5


def test_area_resize_same_side_is_a_copy(fours):
    sample = fours[:3]
    same = area_resize(sample, 28)
    assert np.array_equal(same, sample)
    assert not np.shares_memory(same, sample)


def test_area_weights_cover_each_cell_once():
    weights = area_weights(28, 8)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    # 3.5 source pixels per cell: cell 0 takes pixels 0-2 whole and half of pixel 3.
    np.testing.assert_allclose(weights[0, :5], [2 / 7, 2 / 7, 2 / 7, 1 / 7, 0])
    constant = np.full((2, 28, 28), 0.25, dtype=np.float32)
    np.testing.assert_allclose(area_resize(constant, 5), 0.25, atol=1e-7)


@pytest.mark.parametrize("side", [1, 0, -4, 29, 56, 3.5, True, "8"])
def test_area_resize_rejects_bad_side(fours, side):
    with pytest.raises(UserError, match="side"):
        area_resize(fours[:2], side)


def test_transforms_reject_bad_image_stacks(fours):
    with pytest.raises(UserError, match="square"):
        area_resize(np.zeros((2, 28, 20), dtype=np.float32), 4)
    with pytest.raises(UserError, match=r"\(n, height, width\)"):
        area_resize(fours[0], 4)
    with pytest.raises(UserError, match="float32"):
        rotate_images(fours[:2].astype(np.float64), 30)


# --- source pool -------------------------------------------------------------------------


def test_pool_sizes_classes_and_types():
    pool_X, pool_y = build_pool(30, 4)
    assert pool_X.shape == (POOL_ROWS, 4, 4) and pool_X.dtype == np.float32
    assert pool_y.shape == (POOL_ROWS,) and pool_y.dtype == np.int64
    assert np.bincount(pool_y).tolist() == [5842, 5842]
    assert pool_X.min() >= -1.0 and pool_X.max() <= 1.0
    assert not pool_X.flags.writeable and not pool_y.flags.writeable
    assert build_pool(30.0, 4)[0] is pool_X  # cached


@pytest.mark.parametrize(("rotation", "side"), [(45, 8), (90, 28)])
def test_pool_rows_follow_the_protocol(fours, rotation, side):
    cv2 = pytest.importorskip("cv2")
    pool_X, pool_y = build_pool(rotation, side)
    # shuffle(..., random_state=0) orders the rows as RandomState(0).permutation does.
    order = np.random.RandomState(0).permutation(POOL_ROWS)
    for row in [0, 1, 2, 777, 5000, POOL_ROWS - 1]:
        source = order[row]
        is_rotated = source >= 5842
        image = fours[source % 5842]
        if is_rotated:
            image = pil_rotate(image, rotation)
        if side != 28:
            image = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
        assert pool_y[row] == int(is_rotated)
        assert np.abs(pool_X[row] - image).max() < 1e-5


def test_pool_from_data_dir_equals_bundled(shared_data):
    bundled_X, bundled_y = build_pool(90, 4)
    from_dir_X, from_dir_y = build_pool(90, 4, data_dir=shared_data)
    assert np.array_equal(bundled_X, from_dir_X) and np.array_equal(bundled_y, from_dir_y)


def test_pool_rejects_missing_data_dir(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        build_pool(30, 4, data_dir=tmp_path / "absent")


# --- test datasets -----------------------------------------------------------------------


@pytest.mark.parametrize(("n_majority", "ir"), [(1000, 0.4), (400, 0.2), (200, 0.1), (100, 0.1)])
def test_dataset_sizes(n_majority, ir):
    X, y = make_test_dataset(*build_pool(30, 4), n_majority, ir)
    n_minority = int(n_majority * ir)
    assert X.shape == (n_majority + n_minority, 16) and X.dtype == np.float32
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == [n_majority, n_minority]


def test_dataset_rows_follow_the_protocol():
    pool_X, pool_y = build_pool(30, 4)
    X, y = make_test_dataset(pool_X, pool_y, 200, 0.2)
    majority = np.flatnonzero(pool_y == 0)[:200]
    minority = np.flatnonzero(pool_y == 1)[:40]
    chosen = np.concatenate([majority, minority])
    order = np.random.RandomState(0).permutation(240)
    assert np.array_equal(X, pool_X[chosen][order].reshape(240, 16))
    assert np.array_equal(y, pool_y[chosen][order])


def test_dataset_is_deterministic_and_writable():
    pool = build_pool(30, 4)
    first_X, first_y = make_test_dataset(*pool, 400, 0.1)
    second_X, second_y = make_test_dataset(*pool, 400, 0.1)
    assert np.array_equal(first_X, second_X) and np.array_equal(first_y, second_y)
    first_X[0, 0] = 5.0  # the caller owns its copy; the cached pool stays intact
    assert build_pool(30, 4)[0].max() <= 1.0


def test_smaller_dataset_takes_the_first_rows_of_the_same_pool():
    pool = build_pool(45, 4)
    small_X, small_y = make_test_dataset(*pool, 100, 0.2)
    large_X, large_y = make_test_dataset(*pool, 1000, 0.4)
    for label in (0, 1):
        small_rows = Counter(row.tobytes() for row in small_X[small_y == label])
        large_rows = Counter(row.tobytes() for row in large_X[large_y == label])
        assert not small_rows - large_rows


def synthetic_pool(n_majority: int, n_minority: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.repeat(np.array([0, 1], dtype=np.int64), [n_majority, n_minority])
    return np.arange(len(labels) * 4, dtype=np.float32).reshape(-1, 2, 2), labels


def test_dataset_on_a_synthetic_pool_keeps_pool_order():
    pool_X, pool_y = synthetic_pool(6, 6)
    X, y = make_test_dataset(pool_X, pool_y, 4, 0.5)
    assert sorted(X[:, 0].tolist()) == [0, 4, 8, 12, 24, 28]
    assert np.bincount(y).tolist() == [4, 2]


@pytest.mark.parametrize(
    ("n_majority", "ir", "message"),
    [
        (0, 0.1, "n_majority 0 with imbalance_ratio 0.1 gives no minority rows"),
        (100, 0, "gives no minority rows"),
        (5843, 0.1, "the majority class has 5842 rows; n_majority 5843"),
        (5, 0.1, "gives no minority rows"),
        (9, 0.1, "gives no minority rows"),
    ],
)
def test_dataset_rejects_infeasible_levels(n_majority, ir, message):
    with pytest.raises(UserError, match=message):
        make_test_dataset(*build_pool(30, 4), n_majority, ir)


def test_dataset_rejects_bad_pools():
    pool_X, pool_y = synthetic_pool(10, 2)
    with pytest.raises(UserError, match="minority class has 2 rows; .* needs 5"):
        make_test_dataset(pool_X, pool_y, 10, 0.5)
    with pytest.raises(UserError, match="pool arrays do not match"):
        make_test_dataset(pool_X[:-1], pool_y, 5, 0.2)
    with pytest.raises(UserError, match="pool arrays do not match"):
        make_test_dataset(pool_X[:, 0, 0], pool_y, 5, 0.2)
    with pytest.raises(UserError, match="0 \\(majority\\) or 1"):
        make_test_dataset(pool_X, pool_y + 1, 5, 0.2)


# --- the grid ----------------------------------------------------------------------------


def test_paper_grid_has_144_unique_cases_in_order():
    source = MnistSource(MnistData(rotations=[30, 45, 90], sides=[28, 14, 8, 4],
                                   majority_sizes=[1000, 400, 200, 100],
                                   imbalance_ratios=[0.4, 0.2, 0.1]))
    cases = source.cases()
    assert source.name == "mnist"
    assert len(cases) == 144 and len({case.key for case in cases}) == 144
    assert [case.key for case in cases[:4]] == [
        "rot30-side28-n1000-ir0.4",
        "rot30-side28-n1000-ir0.2",
        "rot30-side28-n1000-ir0.1",
        "rot30-side28-n400-ir0.4",
    ]
    assert cases[12].key == "rot30-side14-n1000-ir0.4"
    assert cases[48].key == "rot45-side28-n1000-ir0.4"
    assert cases[-1].key == "rot90-side4-n100-ir0.1"
    assert cases[-1].source == "mnist"
    assert cases[-1].factors == {
        "rotation": 90,
        "side": 4,
        "features": 16,
        "n_majority": 100,
        "imbalance_ratio": 0.1,
    }
    assert [case.key for case in MnistData().build_source(None).cases()] == [
        case.key for case in cases
    ]


def test_keys_and_factors_of_fractional_levels():
    source = MnistSource(MnistData(rotations=[-17.5, 30], sides=[5], majority_sizes=[100],
                                   imbalance_ratios=[0.25, np.float64(0.3)]))
    keys = [case.key for case in source.cases()]
    assert keys == [
        "rot-17.5-side5-n100-ir0.25",
        "rot-17.5-side5-n100-ir0.3",
        "rot30-side5-n100-ir0.25",
        "rot30-side5-n100-ir0.3",
    ]
    factors = source.cases()[2].factors
    assert factors["rotation"] == 30 and isinstance(factors["rotation"], int)
    assert isinstance(factors["imbalance_ratio"], float)
    assert source.cases()[0].factors["rotation"] == -17.5


def test_load_returns_the_flattened_dataset():
    source = MnistSource(MnistData(rotations=[30], sides=[4], majority_sizes=[100],
                                   imbalance_ratios=[0.1]))
    (case,) = source.cases()
    X, y = source.load(case)
    expected_X, expected_y = make_test_dataset(*build_pool(30, 4), 100, 0.1)
    assert X.shape == (110, 16) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(X, expected_X) and np.array_equal(y, expected_y)


def test_load_rejects_foreign_and_unknown_cases():
    source = MnistSource(MnistData(rotations=[30], sides=[4], majority_sizes=[100],
                                   imbalance_ratios=[0.1]))
    foreign = TestCase(source="tabular", key="rot30-side4-n100-ir0.1", factors={})
    with pytest.raises(UserError, match="from source 'tabular'"):
        source.load(foreign)
    unknown = TestCase(source="mnist", key="rot45-side4-n100-ir0.1", factors={})
    with pytest.raises(UserError, match="unknown mnist test case 'rot45-side4-n100-ir0.1'"):
        source.load(unknown)


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ({"rotations": [float("inf")]}, "data.rotations.0: must be a finite number"),
        ({"rotations": [float("nan")]}, "data.rotations.0: must be a finite number"),
        ({"rotations": []}, "data.rotations: needs at least one level"),
        ({"rotations": "30"}, "data.rotations: Input should be a valid list"),
        ({"rotations": 30}, "data.rotations: Input should be a valid list"),
        ({"rotations": [30, 30.0]}, "data.rotations: levels must be unique"),
        ({"sides": [1]}, "data.sides.0: Input should be greater than or equal to 2"),
        ({"sides": [32]}, "data.sides.0: Input should be less than or equal to 28"),
        ({"sides": [8.5]}, "data.sides.0"),
        ({"sides": [4, 4]}, "levels must be unique"),
        ({"majority_sizes": [0]}, "data.majority_sizes.0: Input should be greater than or equal"),
        ({"majority_sizes": [6000]}, "data.majority_sizes.0: Input should be less than or equal"),
        ({"imbalance_ratios": [0.0]}, "data.imbalance_ratios.0: Input should be greater than 0"),
        ({"imbalance_ratios": [1.01]}, "data.imbalance_ratios.0: Input should be less than or"),
        ({"majority_sizes": [5, 100], "imbalance_ratios": [0.1]},
         "data: n_majority 5 with imbalance_ratio 0.1 gives no minority rows"),
    ],
)
def test_spec_refuses_bad_levels_before_any_source_is_built(levels, message):
    with pytest.raises(UserError) as info:
        parse_study({"name": "x", "data": {"kind": "mnist", **levels}}, "s")
    assert str(info.value).startswith("s: data")
    assert message in _message(info)


def test_grid_rejects_missing_data_dir_before_running(tmp_path):
    source = MnistSource(MnistData(), data_dir=tmp_path / "absent")
    with pytest.raises(UserError, match="absent does not exist"):
        source.cases()


# --- previews ----------------------------------------------------------------------------


def test_preview_shows_ten_images_of_each_class():
    source = MnistSource(MnistData(rotations=[30], sides=[8], majority_sizes=[50],
                                   imbalance_ratios=[0.1]))
    (case,) = source.cases()
    (majority_title, majority), (minority_title, minority) = source.preview(case)
    X, y = source.load(case)
    assert majority_title == "majority (class 0)\nupright 4s, N=50"
    assert minority_title == "minority (class 1)\n4s rotated 30 deg, 5 rows"
    assert np.array_equal(majority, X[y == 0][:10]) and np.array_equal(minority, X[y == 1])
    assert majority.shape == (10, 64)


def test_spec_majority_limit_is_the_number_of_training_fours():
    n_fours = int((load_mnist("train")[1] == 4).sum())
    assert MnistData(majority_sizes=[n_fours]).majority_sizes == [n_fours]
    with pytest.raises(UserError, match="less than or equal to 5842"):
        parse_study({"name": "x", "data": {"kind": "mnist", "majority_sizes": [n_fours + 1]}},
                    "s")
