"""Shipped workflows: each UI file (what people open) and its API twin (what tests run) describe one graph,
every node in them exists in the host, and the host's own validator accepts them."""
from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import pytest
from host import PACK_NAME, PACK_ROOT

workflows = importlib.import_module(f"{PACK_NAME}.slider_core.workflows")
UI_FILES = sorted((PACK_ROOT / "workflows").glob("*.json"))


def api_twin(ui_file: Path) -> dict:
    prompt = json.loads((ui_file.parent / "api" / ui_file.name).read_text())
    return {node_id: {"class_type": node["class_type"], "inputs": node["inputs"]} for node_id, node in prompt.items()}


def test_every_api_workflow_has_a_ui_twin():
    api_names = {path.name for path in (PACK_ROOT / "workflows" / "api").glob("*.json")}
    assert api_names and api_names == {path.name for path in UI_FILES}


@pytest.mark.parametrize("ui_file", UI_FILES, ids=lambda path: path.stem)
def test_ui_and_api_twins_describe_the_same_graph(host, ui_file):
    ui = json.loads(ui_file.read_text())
    mappings = host.nodes.NODE_CLASS_MAPPINGS
    missing = {node["type"] for node in ui["nodes"]} - set(mappings)
    assert not missing, f"{ui_file.name} uses node types the host does not have: {missing}"
    definitions = {node["type"]: mappings[node["type"]].INPUT_TYPES() for node in ui["nodes"]}
    assert workflows.ui_to_api(ui, definitions) == api_twin(ui_file)
    for link in ui["links"]:
        link_id, source, slot, target, _, kind = link
        source_node = next(node for node in ui["nodes"] if node["id"] == source)
        assert source_node["outputs"][slot]["type"] == kind and link_id in source_node["outputs"][slot]["links"]
        assert any(entry.get("link") == link_id for node in ui["nodes"] if node["id"] == target
                   for entry in node["inputs"])


@pytest.mark.parametrize("ui_file", UI_FILES, ids=lambda path: path.stem)
def test_host_validator_accepts_the_api_twin(host, ui_file):
    validate = host.execution.validate_prompt
    prompt = api_twin(ui_file)
    if len(inspect.signature(validate).parameters) == 1:
        valid = validate(prompt)
    else:
        import asyncio

        valid = asyncio.run(validate("workflow-test", prompt, None))
    assert valid[0], f"{ui_file.name}: {valid[1]} {valid[3]}"
