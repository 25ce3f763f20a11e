"""Regenerate workflows/*.json (UI format, what people open in ComfyUI) from their API twins in workflows/api/.

The API twins are the source of truth the tests execute; this keeps the files people open identical in graph,
links and widget values. Node definitions come from the real host with the pack loaded.

    .venv/bin/python scripts/make_ui_workflows.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from host import Host  # noqa: E402


def main() -> None:
    host = Host()
    import importlib

    workflows = importlib.import_module("concept_sliders.slider_core.workflows")
    mappings = host.nodes.NODE_CLASS_MAPPINGS
    for api_file in sorted((ROOT / "workflows" / "api").glob("*.json")):
        prompt = json.loads(api_file.read_text())
        types = {node["class_type"] for node in prompt.values()}
        definitions = {name: mappings[name].INPUT_TYPES() for name in types}
        outputs = {name: list(zip(getattr(mappings[name], "RETURN_NAMES", mappings[name].RETURN_TYPES),
                                  mappings[name].RETURN_TYPES, strict=True)) for name in types}
        ui = workflows.api_to_ui(prompt, definitions, outputs)
        target = ROOT / "workflows" / api_file.name
        target.write_text(json.dumps(ui, indent=1) + "\n")
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
