"""The SD1.5 workflows on a model of real size: a full SD1.5-architecture checkpoint (860M-parameter UNet, CLIP-L,
the SD VAE; random weights, built by the host's own classes at test time and never committed) loaded through
CheckpointLoaderSimple, and both shipped SD1.5 graphs run in the host's executor, shortened to a few steps at
64 px. Each test prints its time and the peak memory it added to the process.

It costs minutes of CPU per host (renoise training samples clean latents from the full UNet), so CI runs it once,
in the newest host (ComfyUI 0.33, what users run; ci_share.py): on the 2024 snapshot it is skipped unless
CONCEPT_SLIDERS_HEAVY_EVERYWHERE=1 (it passes there too)."""
from __future__ import annotations

import shutil
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from ci_share import ON_NEWEST_HOST
from concept_sliders.slider_core.io.slider_files import load_slider
from PIL import Image
from workflow_files import WORKFLOW_DIR, api_twin

from harness.memory import PeakResidentMemory
from harness.models import write_sd15_checkpoint
from harness.sliders import random_slider

pytestmark = [
    pytest.mark.slow,
    ON_NEWEST_HOST,
]
CHECKPOINT = "sd15_random_weights.safetensors"
PIXELS = 64


@pytest.fixture(scope="module")
def sd15_checkpoint(host, tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("checkpoints")
    write_sd15_checkpoint(str(folder / CHECKPOINT))
    listed = host.folder_paths.folder_names_and_paths["checkpoints"][0]
    listed.append(str(folder))
    getattr(host.folder_paths, "filename_list_cache", {}).pop("checkpoints", None)
    yield CHECKPOINT
    listed.remove(str(folder))
    getattr(host.folder_paths, "filename_list_cache", {}).pop("checkpoints", None)
    (folder / CHECKPOINT).unlink()


def loaded_checkpoint(host, name: str) -> tuple:
    with torch.inference_mode():
        return host.node("CheckpointLoaderSimple").load_checkpoint(name)


def saved_image(host, outputs: dict, node_id: str) -> np.ndarray:
    (entry,) = outputs[node_id]["images"]
    with Image.open(host.scratch / "output" / entry["subfolder"] / entry["filename"]) as image:
        return np.asarray(image.convert("RGB"))


CAPTURED: dict[str, object] = {}


class CaptureOutputs:
    """A test-only output node: keeps what it is wired to, so a test can compare the objects a graph made."""

    RETURN_TYPES = ()
    FUNCTION = "capture"
    OUTPUT_NODE = True
    CATEGORY = "testing"
    @classmethod
    def INPUT_TYPES(cls) -> dict:
        return {"required": {"model": ("MODEL",), "slider": ("CONCEPT_SLIDER",)}}

    def capture(self, model: object, slider: object) -> dict:
        CAPTURED.update(model=model, slider=slider)
        return {}


def test_age_slider_workflow_trains_saves_and_sweeps_a_full_size_sd15(host, sd15_checkpoint, sliders_dir, capsys):
    """sd15_age_slider as shipped, but 2 training steps and 2 sampling steps at 64 px over three strengths: every
    node runs, the grid is saved, and the saved fp16 file loads back as the slider the training node made, with
    one entry per adapted module, every one of which ComfyUI's own LoraLoaderModelOnly patches as well."""
    host.add_nodes({"TestCaptureOutputs": CaptureOutputs})
    prompt = api_twin(WORKFLOW_DIR / "sd15_age_slider.json")
    prompt["1"]["inputs"]["ckpt_name"] = sd15_checkpoint
    prompt["2"]["inputs"].update(steps=2, resolution=PIXELS)
    prompt["6"]["inputs"].update(steps=2, width=PIXELS, height=PIXELS, rows=1, strengths="-3, 0, 3")
    prompt["99"] = {"class_type": "TestCaptureOutputs", "inputs": {"model": ["1", 0], "slider": ["2", 0]}}
    with PeakResidentMemory() as memory:
        outputs = host.run_graph(prompt)
    with capsys.disabled():
        print("\n" + memory.line("sd15_age_slider on a full-size SD1.5 (2 steps, 64 px, 3 strengths)"))

    grid = saved_image(host, outputs, "9")
    assert grid.shape[0] >= PIXELS and grid.shape[1] >= 3 * PIXELS
    saved = load_slider(sliders_dir / "sd15_age_00001.safetensors", name="sd15_age")
    trained = CAPTURED["slider"]
    assert saved.metadata.architecture == trained.metadata.architecture == "sd1"
    assert set(saved.deltas) == set(trained.deltas) and len(saved.deltas) > 100
    for stem, delta in trained.deltas.items():
        assert torch.equal(saved.deltas[stem].down, delta.down.half()), stem
        assert torch.equal(saved.deltas[stem].up, delta.up.half()), stem

    as_lora = host.loras_dir / "sd15_age_full_size.safetensors"
    shutil.copyfile(sliders_dir / "sd15_age_00001.safetensors", as_lora)
    try:
        native = host.node("LoraLoaderModelOnly").load_lora_model_only(CAPTURED["model"],
                                                                      as_lora.name, 1.0)[0]
    finally:
        as_lora.unlink()
        CAPTURED.clear()
    assert len(native.patches) == len(saved.deltas)


def test_three_sliders_workflow_composes_on_a_full_size_sd15(host, sd15_checkpoint, sliders_dir, capsys):
    """sd15_three_sliders as shipped (three files loaded by name, chained Slider Strength nodes, KSampler, decode,
    save) at 64 px and 3 steps: the image is saved at the requested size, and differs from the one the same graph
    makes with all three strengths at 0."""
    model, _, _ = loaded_checkpoint(host, sd15_checkpoint)
    for seed, name in enumerate(("sd15_age", "sd15_smile", "sd15_weight")):
        slider = random_slider(model, seed=seed, name=name, magnitude=0.02)
        host.node("ConceptSlidersSave").save(slider, name, "fp16")
    del model

    def three_sliders(strengths: tuple[float, float, float] | None = None) -> dict:
        prompt = api_twin(WORKFLOW_DIR / "sd15_three_sliders.json")
        prompt["1"]["inputs"]["ckpt_name"] = sd15_checkpoint
        prompt["10"]["inputs"].update(width=PIXELS, height=PIXELS)
        prompt["11"]["inputs"]["steps"] = 3
        for node_id, strength in zip(("5", "6", "7"), strengths or (), strict=False):
            prompt[node_id]["inputs"]["strength"] = strength
        return prompt

    executor = host.new_executor()
    with PeakResidentMemory() as memory:
        shipped = saved_image(host, host.run_graph(three_sliders(), executor), "13")
    with capsys.disabled():
        print("\n" + memory.line("sd15_three_sliders on a full-size SD1.5 (3 steps, 64 px)"))
    plain = saved_image(host, host.run_graph(three_sliders((0.0, 0.0, 0.0)), executor), "13")
    assert shipped.shape == plain.shape == (PIXELS, PIXELS, 3)
    assert np.abs(shipped.astype(np.int16) - plain).max() > 0
