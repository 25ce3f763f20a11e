"""The shipped workflows in a real browser: the real ComfyUI server (CPU, loopback) with this pack, its own web
page in Debian's headless Chromium. Each workflow file opens without a missing-node or other dialog and turns into
exactly its API twin; the toy-world workflow, queued from the page, shows its grid on the Save Image node.

The SD1.5 workflows name model files this machine does not have; empty files of those names are put in the
server's model folders so the page lists them (nothing here loads them). About 30 s on 2 CPU cores.
"""
from __future__ import annotations

import json
import time

import pytest
from browser import ComfyPage, missing_browser
from comfy_server import ComfyServer
from concept_sliders.slider_core.charts.grid import strip_height
from PIL import Image
from workflow_files import UI_FILES, WORKFLOW_DIR, api_twin, model_files

from harness.host import PACK_NAME, find_comfyui

pytestmark = pytest.mark.slow

TOY_WORKFLOW = WORKFLOW_DIR / "toyworld_size_slider.json"
# The toy workflows as a user would shorten them for a quick try: widget values changed in the page.
SHORT_SWEEP = {"ConceptSlidersSweep": {"rows": 2, "steps": 4, "strengths": "-2, 0, 2"}}
SHORT_RUNS = {
    "toyworld_size_slider": {"ConceptSlidersTrainFromPrompts": {"steps": 20}, **SHORT_SWEEP},
    "toyworld_image_pairs": {"ConceptSlidersTrainFromImagePairs": {"steps": 20}, **SHORT_SWEEP},
}
RUN_TIMEOUT_S = 240.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    comfy = ComfyServer(find_comfyui(), tmp_path_factory.mktemp("comfy-server"))
    comfy.prepare()
    for ui_file in UI_FILES:
        for folder_name, file_name in model_files(api_twin(ui_file)):
            comfy.models_dir(folder_name).mkdir(parents=True, exist_ok=True)
            (comfy.models_dir(folder_name) / file_name).touch()
    try:
        comfy.start()
        # A first visit to the current page opens the template browser; a returning user's settings skip it.
        assert comfy.post_json("/settings/Comfy.TutorialCompleted", True) == 200
        yield comfy
    finally:
        comfy.stop()


@pytest.fixture(scope="module")
def page(server):
    comfy_page = ComfyPage(server.url)
    yield comfy_page
    comfy_page.close()


def test_the_page_knows_every_node_type_the_workflows_use(page):
    used = {node["type"] for ui_file in UI_FILES for node in json.loads(ui_file.read_text())["nodes"]}
    assert used - page.registered_node_types() == set()


@pytest.mark.parametrize("ui_file", UI_FILES, ids=lambda path: path.stem)
def test_workflow_opens_without_dialogs_and_becomes_its_api_twin(page, ui_file, tmp_path):
    page.load_workflow(json.loads(ui_file.read_text()))
    page.fit_graph()
    print(f"screenshot: {page.screenshot(tmp_path / (ui_file.stem + '.png'))}")
    assert page.visible_dialogs() == []
    prompt = page.graph_as_prompt()
    as_queued = {node_id: {"class_type": node["class_type"], "inputs": node["inputs"]}
                 for node_id, node in prompt.items()}
    assert as_queued == api_twin(ui_file), page.console_errors()


def test_a_missing_node_type_is_reported_in_a_dialog(page):
    """The control for the test above: the dialog check does see the page's missing-node report."""
    workflow = json.loads(TOY_WORKFLOW.read_text())
    workflow["nodes"][0]["type"] = "ConceptSlidersNoSuchNode"
    page.load_workflow(workflow)
    dialogs = page.visible_dialogs()
    page.close_dialogs()
    assert any("ConceptSlidersNoSuchNode" in text for text in dialogs), dialogs


def wait_for_image(page, server, node_id: int, what: str) -> None:
    """Until the node shows an image, failing with the page's dialogs or the server's log if the run does not get
    there within RUN_TIMEOUT_S."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not any(image["width"] for image in page.node_images(node_id)):
        assert not page.visible_dialogs(), f"{page.visible_dialogs()}\n{server.log_tail()}"
        assert time.monotonic() < deadline, f"no {what} on Save Image after {RUN_TIMEOUT_S:.0f} s\n{server.log_tail()}"
        time.sleep(0.5)


@pytest.mark.parametrize("name", SHORT_RUNS)
def test_toy_world_workflow_queued_from_the_page_shows_its_grid(page, server, tmp_path, name):
    workflow = json.loads((WORKFLOW_DIR / f"{name}.json").read_text())
    nodes = {node["type"]: node for node in workflow["nodes"]}
    image_prefix = nodes["SaveImage"]["widgets_values"][0]
    slider_prefix = nodes["ConceptSlidersSave"]["widgets_values"][0]
    page.load_workflow(workflow)
    assert page.set_widgets(SHORT_RUNS[name]) == []
    page.fit_graph()
    assert page.queue() == {}, "the server rejected the graph"
    wait_for_image(page, server, nodes["SaveImage"]["id"], "image")
    screenshot = page.screenshot(tmp_path / f"{name}_run.png")
    print(f"screenshot: {screenshot}")

    (shown,) = page.node_images(nodes["SaveImage"]["id"])
    strip = strip_height(128)
    assert (shown["width"], shown["height"]) == (3 * 128, strip + 2 * 128 + strip)  # title, 2 seeds, labels
    (saved,) = server.output_dir.glob(f"{image_prefix}_*.png")
    assert saved.name in shown["src"]
    with Image.open(saved) as image:
        assert image.size == (shown["width"], shown["height"])
    assert list(server.models_dir("concept_sliders").glob(f"{slider_prefix}_*.safetensors"))
    assert screenshot.stat().st_size > 0


def test_report_workflow_queued_from_the_page_shows_its_chart(page, server, tmp_path):
    """The workflow that trains with previews and ends in a Slider Report, shortened in the page as a user would."""
    workflow = json.loads((WORKFLOW_DIR / "toyworld_slider_report.json").read_text())
    nodes = {node["type"]: node for node in workflow["nodes"]}
    page.load_workflow(workflow)
    short = {"ConceptSlidersTrainFromPrompts": {"steps": 20, "preview_every": 10},
             "ConceptSlidersReport": {"seeds": 2, "steps": 4, "strengths": "-2, 0, 2"}}
    assert page.set_widgets(short) == []
    assert page.queue() == {}, "the server rejected the graph"
    wait_for_image(page, server, nodes["SaveImage"]["id"], "chart")
    print(f"screenshot: {page.screenshot(tmp_path / 'report_run.png')}")
    (shown,) = page.node_images(nodes["SaveImage"]["id"])
    assert shown["width"] >= 3 * 128 and shown["height"] > 128 + 280  # the images, the plot, the verdicts
    assert list(server.models_dir("concept_sliders").glob("toyworld_size_reported_*.safetensors"))


def test_the_template_browser_lists_every_workflow(server, page):
    """Current ComfyUI lists custom_nodes/<pack>/workflows/*.json in its template browser: the server's index has
    each file under the pack's folder name, the page's template browser shows them under the pack, and a card
    clicked there opens its workflow."""
    try:
        templates = server.get_json("/workflow_templates")
    except OSError as error:  # urllib's HTTPError: the 2024 host has no template browser
        pytest.skip(f"this host serves no /workflow_templates ({error})")
    assert sorted(templates[PACK_NAME]) == sorted(path.stem for path in UI_FILES)
    assert sorted(page.template_browser_cards(PACK_NAME)) == sorted(path.stem for path in UI_FILES)
    page.script("app.graph.clear();")  # so that only the template can fill the graph
    page.open_template_card(TOY_WORKFLOW.stem)
    expected = [node["type"] for node in json.loads(TOY_WORKFLOW.read_text())["nodes"]]
    page.wait_for(f"app.graph._nodes.length === {len(expected)}", 30, "the template's graph")
    assert sorted(page.graph_node_types()) == sorted(expected)
    assert page.visible_dialogs() == []
