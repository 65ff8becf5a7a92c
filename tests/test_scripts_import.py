"""The benchmark and analysis scripts are run by hand, seldom; a rename in the package must
not leave one of them failing on its imports. Each is imported as `python script.py` would
load it (its folder first on the path; its `main` is not run), and a script must define
`main`; a helper module beside the scripts only has to import."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*ROOT.glob("benchmarks/*.py"), *ROOT.glob("analysis/*.py")])


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_script_imports_and_has_a_main(path: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(path.parent))
    name = f"script_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    if '__name__ == "__main__"' in path.read_text():
        assert callable(getattr(module, "main", None))


def test_every_script_is_found() -> None:
    assert {path.parent.name for path in SCRIPTS} == {"benchmarks", "analysis"}
