"""The pack as the host sees it: loaded by the host's own loader, valid node definitions, real graphs, errors."""
from __future__ import annotations

import concept_sliders as pack
import pytest
import torch
from concept_sliders.slider_core import errors
from concept_sliders.slider_core.io import slider_files as formats

from harness.host import GraphError
from harness.models import tiny_model
from harness.sliders import random_slider


def test_pack_registers_every_node_with_the_host(host):
    assert pack.NODE_CLASS_MAPPINGS, "no nodes exported"
    for node_id, node_class in pack.NODE_CLASS_MAPPINGS.items():
        assert host.nodes.NODE_CLASS_MAPPINGS[node_id] is node_class
        assert node_id.startswith("ConceptSliders")
        assert node_id in pack.NODE_DISPLAY_NAME_MAPPINGS


@pytest.mark.parametrize("node_id", sorted(pack.NODE_CLASS_MAPPINGS))
def test_node_definition_is_complete(host, node_id):
    """What the UI needs: category, description, tooltips on every input and output, a callable FUNCTION."""
    node_class = host.nodes.NODE_CLASS_MAPPINGS[node_id]
    assert node_class.CATEGORY.startswith("concept_sliders")
    assert len(node_class.DESCRIPTION) > 40
    assert callable(getattr(node_class, node_class.FUNCTION))
    inputs = node_class.INPUT_TYPES()
    assert set(inputs) <= {"required", "optional", "hidden"}
    for section in ("required", "optional"):
        for name, spec in inputs.get(section, {}).items():
            assert isinstance(spec, tuple) and 1 <= len(spec) <= 2, name
            assert isinstance(spec[0], (str, list)), name
            assert len(spec) == 2 and spec[1].get("tooltip"), f"{node_id}.{name} has no tooltip"
    assert len(node_class.OUTPUT_TOOLTIPS) == len(node_class.RETURN_TYPES)
    info = host.nodes.NODE_CLASS_MAPPINGS[node_id]
    assert info is node_class


@pytest.mark.bad_input("slider for another architecture")
def test_slider_for_another_architecture_is_refused_by_name(host):
    sd1, sdxl = tiny_model("sd1"), tiny_model("sdxl")
    slider = random_slider(sdxl, name="xl_smile")
    with pytest.raises(errors.SliderMismatchError, match="xl_smile.*sdxl.*SD15"):
        host.node("ConceptSlidersStrength").apply(sd1, slider, 1.0, 0.0, 1.0)


@pytest.mark.bad_input("slider with foreign keys")
def test_unknown_architecture_with_foreign_keys_reports_match_count(host):
    sd1 = tiny_model("sd1")
    slider = random_slider(tiny_model("sdxl"), name="mystery")
    slider.metadata = slider.metadata.replace(architecture=None)
    with pytest.raises(errors.SliderMismatchError, match=r"mystery.*SD15.*\d+ of \d+ modules matched"):
        host.node("ConceptSlidersStrength").apply(sd1, slider, 1.0, 0.0, 1.0)


@pytest.mark.bad_input("unsafe save name")
def test_save_refuses_names_that_escape_and_never_overwrites(host, sliders_dir, request):
    slider = random_slider(tiny_model("sd1"))
    save = host.node("ConceptSlidersSave")
    first = save.save(slider, "faces/age", "fp16")["result"][0]
    second = save.save(slider, "faces/age", "fp16")["result"][0]
    assert first != second and first.endswith("age_00001.safetensors") and second.endswith("age_00002.safetensors")
    bad_names = ("../escape", "/etc/passwd", "a/../../b", "nul\x00byte", "", "CON", "faces/nul.txt", "x/./y")
    for bad in bad_names:
        with pytest.raises(errors.SliderConfigError, match="not allowed|escapes"):
            save.save(slider, bad, "fp16")
    request.node.bad_inputs_tried = len(bad_names)


@pytest.mark.parametrize("prefix", ["a" * 300, "faces/" + "x" * 251, "ü" * 128])
@pytest.mark.bad_input("overlong save prefix")
def test_save_refuses_a_prefix_too_long_for_the_file_system(host, sliders_dir, prefix):
    with pytest.raises(errors.SliderConfigError, match="beyond the 255 a file system allows in one name; shorten it"):
        host.node("ConceptSlidersSave").save(random_slider(tiny_model("sd1")), prefix, "fp16")
    assert not [path for path in sliders_dir.rglob("*") if path.is_file()]


@pytest.mark.parametrize("precision", ["fp8", "float64", "FP16", "", None, 16])
@pytest.mark.bad_input("unknown save precision")
def test_save_refuses_an_unknown_precision_naming_the_choices(host, sliders_dir, precision):
    with pytest.raises(errors.SliderConfigError, match=r"Save Concept Slider: unknown storage precision .* \(choose "
                                                       r"one of fp16, bf16, fp32\)"):
        host.node("ConceptSlidersSave").save(random_slider(tiny_model("sd1")), "age", precision)
    assert not [path for path in sliders_dir.rglob("*") if path.is_file()]


def test_load_lists_both_folders_and_describes_the_slider(host, sliders_dir):
    model = tiny_model("sd1")
    host.node("ConceptSlidersSave").save(random_slider(model, name="age"), "age", "fp32")
    formats.save_slider(random_slider(model, name="smile"), host.loras_dir / "smile.safetensors")
    choices = host.node("ConceptSlidersLoad").INPUT_TYPES()["required"]["slider_name"][0]
    assert "age_00001.safetensors" in choices and "loras/smile.safetensors" in choices
    slider, info = host.node("ConceptSlidersLoad").load("loras/smile.safetensors")
    assert len(slider.deltas) > 0
    assert "sd1" in info and "rank 4" in info and "an old person" in info
    (host.loras_dir / "smile.safetensors").unlink()


class TinyModelNode:
    """Test-only graph source for a tiny host model (the pack's own toy-world loader is tested elsewhere)."""

    CATEGORY = "testing"
    FUNCTION = "build"
    RETURN_TYPES = ("MODEL", "CONDITIONING")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"kind": (["sd1", "sdxl"],)}}

    def build(self, kind):
        model = tiny_model(kind)
        width = model.model.model_config.unet_config["context_dim"]
        context = torch.randn(1, 8, width, generator=torch.Generator().manual_seed(3))
        extras = {"pooled_output": torch.zeros(1, 1280)} if kind == "sdxl" else {}
        return model, [[context, extras]]


def graph(kind: str, slider_name: str) -> dict:
    return {
        "1": {"class_type": "TestTinyModel", "inputs": {"kind": kind}},
        "2": {"class_type": "ConceptSlidersLoad", "inputs": {"slider_name": slider_name}},
        "3": {"class_type": "ConceptSlidersStrength", "inputs": {"model": ["1", 0], "slider": ["2", 0], "strength": 1.5,
                                                                 "start_percent": 0.2, "end_percent": 1.0}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "5": {"class_type": "KSampler", "inputs": {"model": ["3", 0], "positive": ["1", 1], "negative": ["1", 1],
                                                   "latent_image": ["4", 0], "seed": 1, "steps": 3, "cfg": 2.0,
                                                   "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}},
        "6": {"class_type": "SaveLatent", "inputs": {"samples": ["5", 0], "filename_prefix": "graph_test"}},
    }


def test_graph_runs_in_the_host_executor_and_errors_name_the_slider(host, sliders_dir):
    host.nodes.NODE_CLASS_MAPPINGS["TestTinyModel"] = TinyModelNode
    host.node("ConceptSlidersSave").save(random_slider(tiny_model("sd1"), name="age"), "age", "fp32")
    outputs = host.run_graph(graph("sd1", "age_00001.safetensors"))
    assert outputs["6"]["latents"][0]["filename"].startswith("graph_test")
    with pytest.raises(GraphError) as caught:
        host.run_graph(graph("sdxl", "age_00001.safetensors"))
    assert "age" in caught.value.message and "sdxl" in caught.value.message and "made for sd1" in caught.value.message
