"""Regenerate workflows/*.json (UI format, what people open in ComfyUI) from their API twins in workflows/api/.

The API twins are the source of truth the tests execute; this keeps the files people open identical in graph,
links and widget values. Node definitions come from the real host with the pack loaded.

    .venv/bin/python scripts/make_ui_workflows.py
"""
from __future__ import annotations

import json

from harness.host import PACK_ROOT as ROOT
from harness.host import Host


def main() -> None:
    host = Host()
    from concept_sliders.slider_core.io import workflows

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
