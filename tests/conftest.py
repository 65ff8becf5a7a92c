"""Fixtures shared by the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _no_user_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the data directory of whoever runs them; a test sets one explicitly."""
    monkeypatch.delenv("GAN_OVERSAMPLING_DATA", raising=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The development data folder: $GAN_OVERSAMPLING_TEST_DATA, else ../shared/data."""
    path = Path(os.environ.get("GAN_OVERSAMPLING_TEST_DATA") or DEFAULT_SHARED_DATA)
    if not path.is_dir():
        pytest.skip(
            f"test data folder {path} not found (set GAN_OVERSAMPLING_TEST_DATA to the folder "
            "holding mnist/, cyber-autogan/, nsl-kdd/, kddcup99/)"
        )
    return path


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for a module's tiny models (`pytestmark = usefixtures(...)`)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
