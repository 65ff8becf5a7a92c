"""MNIST files (data directory, checksums, IDX parsing, loading) and PNG grids of images."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from gan_oversampling.datasets import mnist, verify
from gan_oversampling.datasets.mnist import VENDORED_DIR, load_mnist, parse_idx
from gan_oversampling.datasets.verify import require_file, resolve_data_dir, sha256_file
from gan_oversampling.errors import UserError
from gan_oversampling.report.samples import save_image_grid

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
HELLO_SHA256 = hashlib.sha256(b"hello").hexdigest()


@pytest.fixture
def gz_hello(tmp_path: Path) -> Path:
    path = tmp_path / "hello.gz"
    path.write_bytes(gzip.compress(b"hello"))
    return path


def copy_mnist(shared_data: Path, target: Path) -> Path:
    """A writable copy of the test split's two files under target/mnist/."""
    (target / "mnist").mkdir(parents=True)
    for name in mnist.SPLIT_FILES["test"]:
        shutil.copyfile(shared_data / "mnist" / name, target / "mnist" / name)
    return target / "mnist"


# --- resolve_data_dir -------------------------------------------------------------------


def test_resolve_data_dir_none_without_env_means_bundled():
    assert resolve_data_dir(None) is None
    assert resolve_data_dir("") is None


def test_resolve_data_dir_prefers_option_over_env(tmp_path, monkeypatch):
    from_env = tmp_path / "env"
    from_option = tmp_path / "option"
    from_env.mkdir()
    from_option.mkdir()
    monkeypatch.setenv("GAN_OVERSAMPLING_DATA", str(from_env))
    assert resolve_data_dir(None) == from_env.resolve()
    assert resolve_data_dir(from_option) == from_option.resolve()
    assert resolve_data_dir(str(from_option)) == from_option.resolve()


def test_resolve_data_dir_empty_env_is_unset(monkeypatch):
    monkeypatch.setenv("GAN_OVERSAMPLING_DATA", "")
    assert resolve_data_dir(None) is None


def test_resolve_data_dir_missing_named_dir(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    with pytest.raises(UserError, match=r"data directory .*nowhere does not exist.*--data-dir"):
        resolve_data_dir(missing)
    monkeypatch.setenv("GAN_OVERSAMPLING_DATA", str(missing))
    with pytest.raises(UserError, match="GAN_OVERSAMPLING_DATA"):
        resolve_data_dir(None)


def test_resolve_data_dir_rejects_a_file(tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(UserError, match="is not a directory"):
        resolve_data_dir(a_file)


# --- sha256_file / require_file -----------------------------------------------------------


def test_sha256_file_plain_and_decompressed(tmp_path, gz_hello):
    plain = tmp_path / "hello.txt"
    plain.write_bytes(b"hello")
    assert sha256_file(plain) == HELLO_SHA256
    assert sha256_file(gz_hello, decompress_gzip=True) == HELLO_SHA256
    assert sha256_file(gz_hello) == hashlib.sha256(gz_hello.read_bytes()).hexdigest()


def test_require_file_accepts_right_hash(gz_hello):
    result = require_file(gz_hello, HELLO_SHA256, decompressed=True, where_to_get="get it")
    assert result == gz_hello
    upper = require_file(gz_hello, HELLO_SHA256.upper(), decompressed=True, where_to_get="x")
    assert upper == gz_hello


def test_require_file_missing(tmp_path):
    missing = tmp_path / "absent.gz"
    with pytest.raises(UserError) as error:
        require_file(missing, HELLO_SHA256, decompressed=True, where_to_get="download it")
    assert str(error.value) == f"missing data file {missing}: download it"


def test_require_file_wrong_hash(gz_hello):
    with pytest.raises(UserError) as error:
        require_file(gz_hello, "0" * 64, decompressed=True, where_to_get="download it")
    assert str(error.value) == f"corrupt data file {gz_hello} (sha256 mismatch): download it"


def test_require_file_compressed_hash_is_not_content_hash(gz_hello):
    with pytest.raises(UserError, match="corrupt"):
        require_file(gz_hello, HELLO_SHA256, decompressed=False, where_to_get="x")


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated stream
        lambda raw: b"not a gzip file at all",  # wrong format
        lambda raw: raw[:12] + bytes([raw[12] ^ 0xFF]) + raw[13:],  # flipped byte
        lambda raw: b"",  # empty file
    ],
    ids=["truncated", "not-gzip", "flipped-byte", "empty"],
)
def test_require_file_broken_gzip_is_corrupt_not_a_crash(tmp_path, damage):
    path = tmp_path / "broken.gz"
    path.write_bytes(damage(gzip.compress(b"hello" * 100)))
    with pytest.raises(UserError, match=r"^corrupt data file .*broken\.gz \(sha256 mismatch\)"):
        require_file(
            path, hashlib.sha256(b"hello" * 100).hexdigest(), decompressed=True, where_to_get="x"
        )


def test_require_file_hashes_once_until_the_file_changes(tmp_path, monkeypatch):
    calls = []
    real_sha256 = verify.sha256_file

    def counting_sha256(path, decompress_gzip=False):
        calls.append(path)
        return real_sha256(path, decompress_gzip)

    monkeypatch.setattr(verify, "sha256_file", counting_sha256)
    path = tmp_path / "data.gz"
    path.write_bytes(gzip.compress(b"hello"))
    for _ in range(3):
        require_file(path, HELLO_SHA256, decompressed=True, where_to_get="x")
    assert len(calls) == 1

    path.write_bytes(gzip.compress(b"hello, changed"))
    with pytest.raises(UserError, match="corrupt"):
        require_file(path, HELLO_SHA256, decompressed=True, where_to_get="x")
    assert len(calls) == 2


# --- parse_idx ---------------------------------------------------------------------------


def idx_bytes(magic: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(size.to_bytes(4, "big") for size in shape)
    return header + payload


def test_parse_idx_reads_shape_and_values():
    content = idx_bytes(0x803, (2, 2, 3), bytes(range(12)))
    array = parse_idx(content, 0x803, "x")
    assert array.shape == (2, 2, 3)
    assert array.dtype == np.uint8
    assert array[1, 1, 2] == 11
    assert not array.flags.writeable


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (idx_bytes(0x801, (3,), b"abc"), "magic number 0x00000801, expected 0x00000803"),
        (idx_bytes(0x803, (2, 2, 3), bytes(11)), "malformed IDX file"),
        (idx_bytes(0x803, (2, 2, 3), bytes(13)), "malformed IDX file"),
        (b"\x00\x00\x08", "shorter than its header"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "header cut short"),
    ],
    ids=["wrong-magic", "short-payload", "long-payload", "tiny", "cut-header"],
)
def test_parse_idx_rejects_bad_content(content, message):
    with pytest.raises(UserError, match=message):
        parse_idx(content, 0x803, "file.idx")


# --- load_mnist --------------------------------------------------------------------------


def test_load_train_split_from_bundled_copy():
    images, labels = load_mnist("train")
    assert images.shape == (60000, 28, 28)
    assert labels.shape == (60000,)
    assert images.dtype == np.uint8 and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == TRAIN_COUNTS
    assert images.max() == 255 and images.min() == 0


def test_load_test_split_counts():
    images, labels = load_mnist("test")
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == TEST_COUNTS


def test_loaded_arrays_are_cached_and_read_only():
    images, labels = load_mnist("train")
    again_images, again_labels = load_mnist("train")
    assert again_images is images and again_labels is labels
    with pytest.raises(ValueError):
        images[0, 0, 0] = 1
    with pytest.raises(ValueError):
        labels[0] = 1


@pytest.mark.parametrize("split", ["training", "TRAIN", "", None, 0])
def test_load_rejects_unknown_split(split):
    with pytest.raises(UserError, match="unknown MNIST split .*'train', 'test'"):
        load_mnist(split)


def test_bundled_files_match_shared_copies(shared_data):
    for name in mnist.MNIST_SHA256:
        bundled = sha256_file(VENDORED_DIR / name)
        assert bundled == sha256_file(shared_data / "mnist" / name), name


def test_load_from_data_dir_equals_bundled(shared_data, monkeypatch):
    bundled_images, bundled_labels = load_mnist("test")
    images, labels = load_mnist("test", data_dir=shared_data)
    assert np.array_equal(images, bundled_images)
    assert np.array_equal(labels, bundled_labels)
    monkeypatch.setenv("GAN_OVERSAMPLING_DATA", str(shared_data))
    assert mnist.mnist_dir() == shared_data.resolve() / "mnist"
    env_images, _ = load_mnist("test")
    assert np.array_equal(env_images, bundled_images)


def test_load_from_data_dir_without_mnist_names_the_missing_file(tmp_path):
    with pytest.raises(UserError) as error:
        load_mnist("test", data_dir=tmp_path)
    message = str(error.value)
    assert message.startswith(f"missing data file {tmp_path.resolve()}/mnist/t10k-images")
    assert "t10k-labels.idx1-ubyte.gz" in message  # says which files to provide
    assert "\n" not in message


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_load_from_corrupt_copy_fails_cleanly(shared_data, tmp_path, damage):
    folder = copy_mnist(shared_data, tmp_path)
    labels_file = folder / "t10k-labels.idx1-ubyte.gz"
    raw = bytearray(labels_file.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2] ^= 0x01
    else:
        del raw[len(raw) // 2 :]
    labels_file.write_bytes(bytes(raw))
    with pytest.raises(UserError, match=r"^corrupt data file .*t10k-labels\.idx1-ubyte\.gz"):
        load_mnist("test", data_dir=tmp_path)


def test_load_from_valid_copy_then_replaced_file_is_checked_again(shared_data, tmp_path):
    folder = copy_mnist(shared_data, tmp_path)
    load_mnist("test", data_dir=tmp_path)
    labels_file = folder / "t10k-labels.idx1-ubyte.gz"
    labels_file.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x00"))
    with pytest.raises(UserError, match="corrupt data file"):
        load_mnist("test", data_dir=tmp_path)


# --- PNG grids of images ------------------------------------------------------------------


def test_image_grid_accepts_flat_and_square_images(tmp_path):
    rng = np.random.default_rng(0)
    flat = rng.uniform(-1, 1, size=(12, 16)).astype(np.float32)
    square = rng.uniform(-1, 1, size=(3, 4, 4))
    path = save_image_grid(
        [("real", flat), ("generated", square), ("none", flat[:0])],
        4,
        tmp_path / "grid.png",
        n_per_row=5,
    )
    with Image.open(path) as picture:
        width, height = picture.size
    assert width > height > 100


@pytest.mark.parametrize(
    ("rows", "side", "n_per_row", "message"),
    [
        ([], 4, 10, "at least one row"),
        ([("a", np.zeros((2, 15)))], 4, 10, "row 'a' have shape \\(2, 15\\)"),
        ([("a", np.zeros((2, 5, 5)))], 4, 10, "expected \\(m, 16\\) or \\(m, 4, 4\\)"),
        ([("a", np.zeros(16))], 4, 10, "row 'a'"),
        ([("a", np.zeros((2, 16)))], 0, 10, "side must be a positive integer"),
        ([("a", np.zeros((2, 16)))], 4, 0, "n_per_row must be a positive integer"),
        ([("a", np.zeros((2, 16)))], 4, 2.5, "n_per_row"),
    ],
)
def test_image_grid_rejects_bad_input(tmp_path, rows, side, n_per_row, message):
    with pytest.raises(UserError, match=message):
        save_image_grid(rows, side, tmp_path / "grid.png", n_per_row=n_per_row)
    assert list(tmp_path.iterdir()) == []


def test_image_grid_leaves_nothing_when_drawing_fails(tmp_path, monkeypatch):
    def failing_savefig(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", failing_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        save_image_grid([("a", np.zeros((2, 16)))], 4, tmp_path / "grid.png")
    assert list(tmp_path.iterdir()) == []


def test_image_grid_reports_unwritable_target(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot write image grid"):
        save_image_grid([("a", np.zeros((2, 16)))], 4, blocker / "grid.png")
