"""The shipped workflow files, shared by the in-process workflow tests and the browser test."""
from __future__ import annotations

import json
from pathlib import Path

from harness.host import PACK_ROOT

WORKFLOW_DIR = PACK_ROOT / "workflows"
UI_FILES = sorted(WORKFLOW_DIR.glob("*.json"))
# Inputs naming a user-provided model file, and the model folder the host lists it from. The SD1.5 workflows name
# files this machine does not have (the SD1.5 checkpoint, sliders trained by the first workflow).
MODEL_FILE_INPUTS = {"ckpt_name": "checkpoints", "slider_name": "concept_sliders"}


def api_twin(ui_file: Path) -> dict:
    """The API-format twin of a UI workflow, without the `_meta` titles (which /prompt ignores)."""
    prompt = json.loads((ui_file.parent / "api" / ui_file.name).read_text())
    return {node_id: {"class_type": node["class_type"], "inputs": node["inputs"]} for node_id, node in prompt.items()}


def model_files(prompt: dict) -> list[tuple[str, str]]:
    """(model folder, file name) of every model-file input of an API prompt."""
    return [(MODEL_FILE_INPUTS[name], value) for node in prompt.values() for name, value in node["inputs"].items()
            if name in MODEL_FILE_INPUTS and isinstance(value, str)]
