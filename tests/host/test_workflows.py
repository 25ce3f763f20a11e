"""Shipped workflows: each UI file (what people open) and its API twin (what tests run) describe one graph,
every node in them exists in the host, and the host's own validator accepts them.

The SD1.5 workflows name model files this machine does not have (the SD1.5 checkpoint, sliders trained by the
first workflow). Those are the only values treated specially: an empty placeholder file of that name is put in a
scratch folder registered for its model type, so the unchanged host validator still checks every node type,
link and every other input (the validator only checks that the name is listed, it loads nothing)."""
from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
from concept_sliders.nodes.host import toyworld
from concept_sliders.slider_core.io import workflows
from PIL import Image
from workflow_files import UI_FILES, WORKFLOW_DIR, api_twin, model_files

from harness.sliders import random_slider


def test_every_api_workflow_has_a_ui_twin():
    api_names = {path.name for path in (WORKFLOW_DIR / "api").glob("*.json")}
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


@pytest.fixture
def placeholder_model_files(host, tmp_path):
    """`place(prompt)`: an empty file for every model-file input whose value the host does not list."""
    folder_paths = host.folder_paths
    registered: list[tuple[str, str]] = []

    def forget_listing(folder_name: str) -> None:
        getattr(folder_paths, "filename_list_cache", {}).pop(folder_name, None)

    def place(prompt: dict) -> list[str]:
        placed = []
        for folder_name, file_name in model_files(prompt):
            if file_name in folder_paths.get_filename_list(folder_name):
                continue
            folder = tmp_path / folder_name
            folder.mkdir(exist_ok=True)
            (folder / file_name).touch()
            if (folder_name, str(folder)) not in registered:
                folder_paths.folder_names_and_paths[folder_name][0].append(str(folder))
                registered.append((folder_name, str(folder)))
            forget_listing(folder_name)
            placed.append(file_name)
        return placed

    yield place
    for folder_name, folder in registered:
        folder_paths.folder_names_and_paths[folder_name][0].remove(folder)
        forget_listing(folder_name)


@pytest.mark.parametrize("ui_file", UI_FILES, ids=lambda path: path.stem)
def test_host_validator_accepts_the_api_twin(host, ui_file, placeholder_model_files):
    validate = host.execution.validate_prompt
    prompt = api_twin(ui_file)
    placed = placeholder_model_files(prompt)
    assert ui_file.stem.startswith("sd15") == bool(placed), f"{ui_file.name}: placeholders for {placed}"
    if len(inspect.signature(validate).parameters) == 1:
        valid = validate(prompt)
    else:
        import asyncio

        valid = asyncio.run(validate("workflow-test", prompt, None))
    assert valid[0], f"{ui_file.name}: {valid[1]} {valid[3]}"


def three_sliders_on_the_toy_model(strengths: tuple[float, float, float] | None = None) -> dict:
    """sd15_three_sliders as shipped, with the toy world standing in for the SD1.5 checkpoint and its VAE."""
    prompt = api_twin(WORKFLOW_DIR / "sd15_three_sliders.json")
    prompt["1"] = {"class_type": "ConceptSlidersToyWorldLoader", "inputs": {}}
    prompt["12"] = {"class_type": "ConceptSlidersToyWorldDecode", "inputs": {"samples": ["11", 0]}}
    prompt["10"]["inputs"].update(width=128, height=128)
    prompt["11"]["inputs"]["steps"] = 6
    for node_id, strength in zip(("5", "6", "7"), strengths or (), strict=False):
        prompt[node_id]["inputs"]["strength"] = strength
    return prompt


def saved_pixels(host, outputs: dict) -> np.ndarray:
    (saved,) = [entry for output in outputs.values() for entry in output.get("images", [])]
    with Image.open(host.scratch / "output" / saved["subfolder"] / saved["filename"]) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_three_composed_sliders_graph_runs_and_each_slider_counts(host, sliders_dir):
    """The text-to-image graph of sd15_three_sliders runs as wired (three files loaded by name, chained Slider
    Strength nodes with their own starts, KSampler, decode, save); every slider changes the image and all three
    at strength 0 give the plain model's image, pixel for pixel."""
    toy_model, _ = toyworld.load_toyworld()
    for seed, name in enumerate(("sd15_age", "sd15_smile", "sd15_weight")):
        host.node("ConceptSlidersSave").save(random_slider(toy_model, seed=seed, name=name), name, "fp32")
    shipped_prompt = three_sliders_on_the_toy_model()
    shipped_strengths = [shipped_prompt[node_id]["inputs"]["strength"] for node_id in ("5", "6", "7")]
    shipped = saved_pixels(host, host.run_graph(shipped_prompt))
    plain = saved_pixels(host, host.run_graph(three_sliders_on_the_toy_model((0.0, 0.0, 0.0))))
    prompt = three_sliders_on_the_toy_model((0.0, 0.0, 0.0))
    prompt["11"]["inputs"]["model"] = ["1", 0]
    assert np.array_equal(plain, saved_pixels(host, host.run_graph(prompt)))
    assert np.abs(shipped - plain).max() > 8
    for held in range(3):
        strengths = list(shipped_strengths)
        strengths[held] = 0.0
        without_one = saved_pixels(host, host.run_graph(three_sliders_on_the_toy_model(tuple(strengths))))
        assert np.abs(shipped - without_one).max() > 8, f"slider {held + 1} of 3 changes nothing"


WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}


@pytest.mark.parametrize("ui_file", UI_FILES, ids=lambda path: path.stem)
def test_every_widget_of_the_packs_nodes_is_set_in_the_shipped_workflows(host, ui_file):
    """A workflow written before a node gained a widget still opens, but the page fills in the new widget's default,
    so what it queues is no longer the shipped graph: every widget a pack node declares is set in each twin."""
    for node_id, node in api_twin(ui_file).items():
        if not node["class_type"].startswith("ConceptSliders"):
            continue
        declared = host.nodes.NODE_CLASS_MAPPINGS[node["class_type"]].INPUT_TYPES()
        widgets = {name for section in ("required", "optional") for name, spec in declared.get(section, {}).items()
                   if isinstance(spec[0], list) or spec[0] in WIDGET_TYPES}
        missing = widgets - set(node["inputs"])
        assert not missing, f"{ui_file.name} node {node_id} ({node['class_type']}) does not set {sorted(missing)}"
