"""The toy flow world in the graph: its loader gives a FLUX.1-schnell model the pack recognises, and the shipped
workflow (train a size slider, save it, sweep it) runs in the host's executor, shortened. Hosts without the FLUX
family get the loader's own error instead (the 2024 snapshot); the semantic tests are test_flow_semantics.py."""
from __future__ import annotations

import json

import comfy.supported_models
import pytest
from concept_sliders.nodes.host import models
from concept_sliders.slider_core.errors import SliderError
from concept_sliders.slider_core.io.slider_files import load_slider
from workflow_files import WORKFLOW_DIR

HAS_FLUX = hasattr(comfy.supported_models, "FluxSchnell")
needs_flux = pytest.mark.skipif(not HAS_FLUX, reason="this ComfyUI (the 2024 snapshot) has no FLUX family; the toy "
                                                     "flow world is tested on ComfyUI 0.3x")


@needs_flux
def test_toy_flow_world_is_a_flux_schnell_model_with_the_toy_text_encoder(host):
    model, clip = host.node("ConceptSlidersToyFlowWorldLoader").load()
    assert models.architecture_id(model) == "flux1-schnell"
    cond = host.node("CLIPTextEncode").encode(clip, "a large red blob")[0]
    assert cond[0][0].shape[-1] == model.model.model_config.unet_config["context_in_dim"]


@needs_flux
def test_shipped_toy_flow_workflow_trains_saves_and_sweeps(host, sliders_dir):
    prompt = json.loads((WORKFLOW_DIR / "api" / "toyflow_size_slider.json").read_text())
    prompt["2"]["inputs"]["steps"] = 4
    prompt["6"]["inputs"].update(rows=1, steps=3, strengths="-2, 0, 2")
    outputs = host.run_graph(prompt)
    (grid,) = outputs["9"]["images"]
    assert grid["filename"].endswith(".png")
    saved = load_slider(sliders_dir / "toyflow_size_00001.safetensors")
    assert saved.metadata.architecture == "flux1-schnell" and saved.deltas
    assert "size" in outputs["10"]["text"][0]


@pytest.mark.skipif(HAS_FLUX, reason="this ComfyUI has the FLUX family, so the loader works")
def test_toy_flow_world_loader_explains_what_the_host_lacks(host):
    with pytest.raises(SliderError, match="no FLUX family"):
        host.node("ConceptSlidersToyFlowWorldLoader").load()
