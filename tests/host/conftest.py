"""Boots the real ComfyUI host at import time, before collection imports anything of the pack: the host tests
then import the pack as `concept_sliders.*`, the very modules the host loaded."""
from __future__ import annotations

import pytest

from harness.host import Host

HOST = Host()


@pytest.fixture(scope="session")
def host() -> Host:
    return HOST


@pytest.fixture
def sliders_dir(host: Host):
    """The host's models/concept_sliders folder, emptied after the test so file lists stay predictable."""
    yield host.sliders_dir
    for path in host.sliders_dir.rglob("*"):
        if path.is_file():
            path.unlink()


@pytest.fixture(autouse=True)
def unload_models(host: Host):
    """Each test builds its own tiny models; dropping them keeps the host's loaded-model list short."""
    yield
    import comfy.model_management

    comfy.model_management.unload_all_models()
