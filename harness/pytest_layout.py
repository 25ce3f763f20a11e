"""A pytest plugin (enabled in pyproject's addopts): the repository root is a ComfyUI custom-node package, not a
test package, so it is collected as a plain directory. pytest would otherwise import its `__init__.py` (which
registers the nodes and needs ComfyUI) before the first test, and the host-free unit tier could not run."""
from __future__ import annotations

from pathlib import Path

import pytest

PACK_ROOT = Path(__file__).resolve().parent.parent


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if path.resolve() == PACK_ROOT:
        return pytest.Dir.from_parent(parent, path=path)
    return None
