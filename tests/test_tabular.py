"""Variants of a pool, the author's seven cybersecurity datasets, their study kinds and presets."""

import shutil
import tomllib

import numpy as np
import pytest
from sklearn.utils import shuffle

from gan_oversampling.datasets.catalog import known_files
from gan_oversampling.datasets.tabular import (
    CYBER_DATASETS,
    CYBER_FEATURES,
    CYBER_VARIANT_RATIOS,
    CYBER_VARIANT_SIZES,
    load_cyber_root,
    load_cyber_variant,
)
from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.difficulty.tabular import (
    CyberSource,
    build_variant,
    cyber_pool,
    pool_from_variant,
    shuffled_order,
    variant_rows,
)
from gan_oversampling.errors import UserError
from gan_oversampling.study.presets import preset_as_toml, resolve_study
from gan_oversampling.study.spec import CyberData, load_study_file, parse_study

SHIPPED = [(n, ir) for n in CYBER_VARIANT_SIZES for ir in CYBER_VARIANT_RATIOS]


def _cyber(datasets, sizes, ratios, data_dir) -> CyberSource:
    data = CyberData(datasets=datasets, majority_sizes=sizes, imbalance_ratios=ratios)
    return CyberSource(data, data_dir)


def _pool(n_majority=30, n_minority=12, n_features=3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n_majority + n_minority, n_features))
    y = rng.permutation(np.repeat([0, 1], [n_majority, n_minority]))
    return X, y


def test_shuffled_order_is_sklearns_shuffle_with_seed_0():
    for n in (1, 7, 1400):
        assert np.array_equal(shuffled_order(n), shuffle(np.arange(n), random_state=0))


def test_variant_takes_class_prefixes_then_shuffles():
    X, y = _pool()
    Xv, yv = build_variant(X, y, 20, 0.3)
    assert Xv.dtype == X.dtype and yv.dtype == np.int64
    assert np.bincount(yv).tolist() == [20, 6]
    # The author's recipe, spelled out with sklearn.
    majority = shuffle(X[y == 0], random_state=0)[:20]
    minority = shuffle(X[y == 1], random_state=0)[:6]
    expected = shuffle(np.concatenate([majority, minority]), np.repeat([0, 1], [20, 6]),
                       random_state=0)
    assert np.array_equal(Xv, expected[0]) and np.array_equal(yv, expected[1])
    # A smaller variant holds a subset of a larger one's rows.
    small_rows, _ = variant_rows(y, 10, 0.2)
    large_rows, _ = variant_rows(y, 20, 0.3)
    assert set(small_rows) <= set(large_rows)


@pytest.mark.parametrize(
    ("n_majority", "ir", "message"),
    [
        (31, 0.1, "the majority class has 30 rows; n_majority 31"),
        (30, 0.5, "minority class has 12 rows; n_majority 30 with imbalance_ratio 0.5 needs 15"),
        (5, 0.1, "gives no minority rows"),
    ],
)
def test_infeasible_variant_says_which_class_is_short(n_majority, ir, message):
    X, y = _pool()
    with pytest.raises(UserError) as info:
        build_variant(X, y, n_majority, ir)
    assert message in str(info.value)


def test_variant_rejects_bad_pools():
    X, y = _pool()
    with pytest.raises(UserError, match="0 \\(majority\\) and 1"):
        build_variant(X, np.where(y == 1, 2, 0), 5, 0.4)
    with pytest.raises(UserError, match="rows but"):
        build_variant(X[:-1], y, 5, 0.4)


def test_pool_from_variant_rebuilds_the_variant_and_its_smaller_ones():
    X, y = _pool(n_majority=60, n_minority=40)
    big_X, big_y = build_variant(X, y, 50, 0.4)
    pool_X, pool_y = pool_from_variant(big_X, big_y)
    assert len(pool_X) == 70
    for n_majority, ir in [(50, 0.4), (30, 0.2), (10, 0.1), (25, 0.4)]:
        rebuilt = build_variant(pool_X, pool_y, n_majority, ir)
        original = build_variant(X, y, n_majority, ir)
        assert np.array_equal(rebuilt[0], original[0])
        assert np.array_equal(rebuilt[1], original[1])


def test_pool_from_variant_rejects_rows_not_built_as_a_variant():
    X, y = _pool()
    with pytest.raises(UserError, match="not a variant"):
        pool_from_variant(X, y)


@pytest.mark.parametrize("name", CYBER_DATASETS)
def test_every_shipped_variant_is_rebuilt_bit_for_bit(shared_data, name):
    pool_X, pool_y = cyber_pool(name, shared_data)
    for n_majority, ir in SHIPPED:
        shipped_X, shipped_y = load_cyber_variant(name, n_majority, ir, shared_data)
        X, y = build_variant(pool_X, pool_y, n_majority, ir)
        assert X.dtype == np.float64 and X.shape[1] == CYBER_FEATURES[name]
        assert np.array_equal(X, shipped_X), f"{name} {n_majority}_{ir}"  # exact, no tolerance
        assert np.array_equal(y, shipped_y), f"{name} {n_majority}_{ir}"


@pytest.mark.parametrize("name", ["cic_syscalls_adware", "iscx_defacement"])
def test_root_pool_and_rebuilt_pool_agree_on_the_shipped_grid(shared_data, name):
    root_X, root_y = load_cyber_root(name, shared_data)
    rebuilt_X, rebuilt_y = pool_from_variant(*load_cyber_variant(name, 1000, 0.4, shared_data))
    for n_majority, ir in SHIPPED:
        assert np.array_equal(build_variant(root_X, root_y, n_majority, ir)[0],
                              build_variant(rebuilt_X, rebuilt_y, n_majority, ir)[0])


def test_the_1000_04_file_is_not_itself_a_pool(shared_data):
    # Re-shuffling the classes of the shipped 1000_0.4 variant picks other rows: the author's
    # per-class shuffle ran over the full pool, whose size differs from 1,000 / 400.
    X, y = load_cyber_variant("tor", 1000, 0.4, shared_data)
    same_size = build_variant(X, y, 1000, 0.4)[0]
    assert not np.array_equal(same_size, X)
    assert {row.tobytes() for row in same_size} == {row.tobytes() for row in X}
    small = build_variant(X, y, 100, 0.1)[0]
    assert not np.array_equal(small, load_cyber_variant("tor", 100, 0.1, shared_data)[0])


def test_root_pools_have_their_documented_class_sizes(shared_data):
    assert np.bincount(cyber_pool("cic_syscalls_adware", shared_data)[1]).tolist() == [1795, 1253]
    assert np.bincount(cyber_pool("iscx_defacement", shared_data)[1]).tolist() == [2709, 2477]
    assert np.bincount(cyber_pool("tor", shared_data)[1]).tolist() == [1000, 400]


def test_cyber_source_cases_and_rows(shared_data):
    source = _cyber(["tor", "cic_syscalls_adware"], [100, 1500], [0.1], shared_data)
    with pytest.raises(UserError, match="cyber dataset tor: the majority class has 1000 rows"):
        source.cases()
    source = _cyber(["tor", "cic_syscalls_adware"], [100, 1000], [0.1, 0.4], shared_data)
    cases = source.cases()
    assert [case.key for case in cases][:3] == ["tor-n100-ir0.1", "tor-n100-ir0.4",
                                                "tor-n1000-ir0.1"]
    assert cases[0].factors == {"dataset": "tor", "features": 22, "n_majority": 100,
                                "imbalance_ratio": 0.1}
    assert cases[-1].factors["features"] == 130
    X, y = source.load(cases[-1])
    assert X.dtype == np.float32 and X.shape == (1400, 130) and y.dtype == np.int64
    assert X.min() >= -1 and X.max() <= 1
    assert source.make_preprocessor(cases[-1]) is None
    # Beyond the shipped grid where the root pool has the rows.
    big = _cyber(["cic_syscalls_adware"], [1500], [0.8], shared_data)
    assert np.bincount(big.load(big.cases()[0])[1]).tolist() == [1500, 1200]


def test_cyber_source_rejects_cases_of_other_grids_and_unknown_datasets(shared_data):
    with pytest.raises(UserError, match="unknown cyber dataset 'mnist'; known: cic_syscalls_"):
        cyber_pool("mnist", shared_data)
    source = _cyber(["tor"], [100], [0.1], shared_data)
    with pytest.raises(UserError, match="not in this grid"):
        source.load(TestCase("cyber", "tor-n200-ir0.1", {}))
    with pytest.raises(UserError, match="from source 'mnist'"):
        source.load(TestCase("mnist", "tor-n100-ir0.1", {}))


def test_cyber_data_need_a_data_directory():
    with pytest.raises(UserError) as info:
        _cyber(["tor"], [100], [0.1], None).cases()
    assert str(info.value) == (
        "the cyber datasets need a data directory: set --data-dir or GAN_OVERSAMPLING_DATA "
        "(expected <dir>/cyber-autogan/...)"
    )


def test_missing_or_corrupt_cyber_file_names_the_collection(shared_data, tmp_path):
    derived = tmp_path / "cyber-autogan" / "derived"
    shutil.copytree(shared_data / "cyber-autogan" / "derived" / "tor", derived / "tor")
    with pytest.raises(UserError, match="missing data file .*cira/1000_0.4.npz.*CIRA-CIC-DoHBrw"):
        cyber_pool("cira", tmp_path)
    target = derived / "tor" / "100_0.1.npz"
    target.chmod(0o644)
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(UserError, match="corrupt data file .*100_0.1.npz.*ISCX-Tor2016"):
        load_cyber_variant("tor", 100, 0.1, tmp_path)
    with pytest.raises(UserError, match="no shipped variant 300_0.1 of tor"):
        load_cyber_variant("tor", 300, 0.1, tmp_path)


def test_catalog_pins_every_shared_file_with_its_published_digest(shared_data):
    published = {}
    for line in (shared_data / "SHA256SUMS").read_text().splitlines():
        digest, path = line.split()
        published[path.removeprefix("./")] = digest
    pinned = {entry.relative_path: entry.sha256 for entry in known_files()}
    tabular = {path: digest for path, digest in published.items()
               if not path.startswith("mnist/")}
    assert len(tabular) == 120
    assert {path: pinned.get(path) for path in tabular} == tabular


def test_cyber_data_kind_defaults_and_validation(shared_data):
    data = CyberData()
    assert data.datasets == list(CYBER_DATASETS)
    assert data.majority_sizes == [100, 200, 500, 1000]
    assert data.imbalance_ratios == [0.1, 0.2, 0.3, 0.4]
    assert len(data.build_source(shared_data).cases()) == 112
    with pytest.raises(UserError) as info:
        parse_study({"name": "x", "data": {"kind": "cyber", "datasets": ["tor", "kdd"]}}, "s")
    assert "data.datasets.1: Input should be 'cic_syscalls_adware'" in str(info.value)
    assert "'tor'" in str(info.value)
    for bad, message in [({"datasets": []}, "at least one level"),
                         ({"datasets": ["tor", "tor"]}, "levels must be unique"),
                         ({"majority_sizes": [100, 100]}, "levels must be unique"),
                         ({"majority_sizes": [0]}, "greater than or equal to 1"),
                         ({"imbalance_ratios": [0]}, "greater than 0"),
                         ({"imbalance_ratios": [1.5]}, "less than or equal to 1"),
                         ({"majority_sizes": [9], "imbalance_ratios": [0.1]},
                          "n_majority 9 with imbalance_ratio 0.1 gives no minority rows"),
                         ({"rotations": [30]}, "data.rotations: unknown field")]:
        with pytest.raises(UserError, match=message):
            parse_study({"name": "x", "data": {"kind": "cyber", **bad}}, "s")


def test_paper_cyber_preset_is_the_published_grid(shared_data):
    paper = resolve_study("paper-cyber")
    cases = paper.data.build_source(shared_data).cases()
    assert len(cases) == 112 and len({case.key for case in cases}) == 112
    assert paper.evaluation.cv == "stratified" and paper.evaluation.n_splits == 5
    assert (paper.cgan.iterations, paper.cgan.latent_dim, paper.cgan.batch_size) == (1500, 50, 32)
    assert paper.methods == ["none", "random", "smote", "borderline-smote", "adasyn", "cgan"]
    assert "latent size 100 and batch 128" in paper.description


def test_quick_cyber_is_a_subset_of_paper_cyber(shared_data):
    quick, paper = resolve_study("quick-cyber"), resolve_study("paper-cyber")
    assert quick.subset_of == "paper-cyber"
    assert (quick.cgan, quick.evaluation, quick.methods) == (paper.cgan, paper.evaluation,
                                                             paper.methods)
    quick_keys = {case.key for case in quick.data.build_source(shared_data).cases()}
    paper_keys = {case.key for case in paper.data.build_source(shared_data).cases()}
    assert len(quick_keys) == 12 and quick_keys < paper_keys


@pytest.mark.parametrize("name", ["paper-cyber", "quick-cyber", "nsl-kdd"])
def test_new_presets_round_trip_through_toml(tmp_path, name):
    path = tmp_path / f"{name}.toml"
    path.write_text(preset_as_toml(name))
    assert load_study_file(path) == resolve_study(name)
    assert tomllib.loads(path.read_text())["data"]["kind"] == resolve_study(name).data.kind
