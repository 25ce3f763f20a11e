"""Training checkpoint files: what a resumed run needs, written atomically and loadable without pickle code."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import SliderFormatError
from .atomic import write_atomically

CHECKPOINT_VERSION = 1


@dataclass
class Checkpoint:
    """Everything a resumed run needs: adaptor weights, AdamW moments, the generator, the step, and a
    fingerprint of the settings that must not change between the run that wrote it and the one resuming."""

    step: int
    slider: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    generator: torch.Tensor
    fingerprint: str


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Atomic (temp file + rename): an interrupted write leaves the previous checkpoint intact. Only tensors and
    plain containers go in, so it loads with `weights_only=True` (no pickle code runs on resume)."""
    write_atomically(path, lambda temp_name: torch.save(
        {"version": CHECKPOINT_VERSION, "step": checkpoint.step, "slider": checkpoint.slider,
         "optimizer": checkpoint.optimizer, "generator": checkpoint.generator,
         "fingerprint": checkpoint.fingerprint}, temp_name))


def load_checkpoint(path: Path) -> Checkpoint:
    if not path.is_file():
        raise SliderFormatError(f"checkpoint not found: {path}")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise SliderFormatError(f"{path.name}: not a readable training checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(raw, dict) or raw.get("version") != CHECKPOINT_VERSION:
        raise SliderFormatError(f"{path.name}: not a version-{CHECKPOINT_VERSION} slider training checkpoint")
    return Checkpoint(step=int(raw["step"]), slider=raw["slider"], optimizer=raw["optimizer"],
                      generator=raw["generator"], fingerprint=str(raw["fingerprint"]))


def fingerprint(settings: dict[str, Any]) -> str:
    """Stable text of the settings a checkpoint is only valid for (model layout, rank, modules, prompts)."""
    return json.dumps(settings, sort_keys=True, default=str)
