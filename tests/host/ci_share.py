"""Which of CI's two hosts runs a heavy test: the toy-world semantic tests and the full-size SD1.5 graphs.

Why: they train and sweep sliders for minutes each, with maths the pack does identically on both hosts, and together
they took 41 of the 47 minutes of one host's suite; `.ci/run` runs the suite on both hosts, so running each of them
on both would double CI's longest part for no new evidence. Each heavy test is given to one host (the shares are
balanced in time): the 2024 snapshot runs the blob world's sliders and reports and the image-pair slider, ComfyUI
0.3x the shapes world and the full-size SD1.5 graphs (with its flow-matching worlds, which exist only there).
Every heavy test still runs in every CI; CONCEPT_SLIDERS_HEAVY_EVERYWHERE=1 runs them all on whichever host."""
from __future__ import annotations

import os

import comfy.supported_models
import pytest

EVERYWHERE = "CONCEPT_SLIDERS_HEAVY_EVERYWHERE"
NEWEST_HOST = hasattr(comfy.supported_models, "Flux")
_RUN_ALL = os.environ.get(EVERYWHERE) == "1"


def _share(for_newest: bool, where: str, other: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(NEWEST_HOST != for_newest and not _RUN_ALL,
                              reason=f"heavy test: CI runs it once, {where}, and {other} a share of the others; "
                                     f"{EVERYWHERE}=1 runs it here too")


ON_2024_SNAPSHOT = _share(False, "on the 2024 ComfyUI snapshot", "the newest ComfyUI")
ON_NEWEST_HOST = _share(True, "on the newest ComfyUI (0.3x)", "the 2024 snapshot")
