"""Every node checks its own numbers: NaN/inf FLOATs (which the host's min/max validation lets through) and
out-of-range values from callers that skip the UI are refused by the node, naming itself, the input and the
range, before anything runs (the base model is untouched)."""
from __future__ import annotations

import pytest
import torch
from concept_sliders.slider_core import errors
from training_checks import weights_hash

from harness.host import GraphError
from harness.models import tiny_model
from harness.sliders import random_slider

NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def sd1(host):
    model = tiny_model("sd1")
    return model, random_slider(model)


@pytest.fixture(scope="module")
def toy(host):
    return host.node("ConceptSlidersToyWorldLoader").load()


def refused(call, message: str, model) -> None:
    before = weights_hash(model)
    with pytest.raises(errors.SliderConfigError, match=message):
        call()
    assert weights_hash(model) == before


@pytest.mark.parametrize("strength", [NAN, INF, -INF, 10.5, -1e9])
@pytest.mark.bad_input("NaN strength")
def test_a_non_finite_or_out_of_range_strength_is_refused_by_slider_strength(host, sd1, strength):
    model, slider = sd1
    refused(lambda: host.node("ConceptSlidersStrength").apply(model, slider, strength, 0.0, 1.0),
            rf"Slider Strength: strength is {strength!r}; give a finite number from -10 to 10", model)


@pytest.mark.parametrize(("start", "end", "culprit"), [(NAN, 1.0, "start_percent"), (0.0, NAN, "end_percent"),
                                                       (NAN, NAN, "start_percent"), (-0.1, 1.0, "start_percent"),
                                                       (0.2, 1.5, "end_percent"), (0.0, INF, "end_percent")])
@pytest.mark.bad_input("NaN start/end percent")
def test_a_non_finite_start_or_end_percent_is_refused_before_the_host_sees_it(host, sd1, start, end, culprit):
    model, slider = sd1
    refused(lambda: host.node("ConceptSlidersStrength").apply(model, slider, 1.0, start, end),
            rf"Slider Strength: {culprit} is .*; give a finite number from 0 to 1", model)


def sweep(host, model, slider, **overrides):
    context = torch.zeros(1, 8, model.model.model_config.unet_config["context_dim"])
    settings = dict(seed=0, rows=1, steps=2, cfg=2.0, sampler_name="euler", scheduler="normal", width=64, height=64,
                    strengths="-1, 0, 1", start_percent=0.0)
    return host.node("ConceptSlidersSweep").sweep(model, slider, [[context, {}]], [[context, {}]],
                                                  **{**settings, **overrides})


@pytest.mark.parametrize("cfg", [NAN, INF, -1.0, 100.5])
@pytest.mark.bad_input("NaN sweep cfg")
def test_a_non_finite_sweep_cfg_is_refused(host, sd1, cfg):
    model, slider = sd1
    refused(lambda: sweep(host, model, slider, cfg=cfg), "Slider Sweep: cfg is .*; give a finite number from 0 to 100",
            model)


@pytest.mark.parametrize("start", [NAN, 1.0, -INF])
@pytest.mark.bad_input("NaN start/end percent")
def test_a_non_finite_sweep_start_percent_is_refused(host, sd1, start):
    model, slider = sd1
    refused(lambda: sweep(host, model, slider, start_percent=start), "Slider Sweep: start_percent is .* from 0 to 0.99",
            model)


@pytest.mark.parametrize(("name", "value"), [("width", 0), ("height", -8), ("width", 8), ("height", 10 ** 6),
                                             ("width", 64.5)])
@pytest.mark.bad_input("negative/zero API resolution")
def test_a_zero_or_negative_sweep_size_is_refused(host, sd1, name, value):
    model, slider = sd1
    refused(lambda: sweep(host, model, slider, **{name: value}),
            rf"Slider Sweep: {name} is {value!r}; give a whole number from 64 to 8192", model)


@pytest.mark.parametrize(("name", "value"), [("rows", 0), ("rows", -1), ("rows", 65), ("steps", 0),
                                             ("seed", -1)])
@pytest.mark.bad_input("zero rows")
def test_zero_or_negative_rows_and_steps_are_refused(host, sd1, name, value):
    model, slider = sd1
    refused(lambda: sweep(host, model, slider, **{name: value}), rf"Slider Sweep: {name} is {value}; give a whole number",
            model)


PROMPT_SETTINGS = dict(target="a blob", positive="large", negative="small", preserve="", guidance=4.0, rank=4,
                       alpha=1.0, train_method="noxattn", include_conv=False, steps=2, learning_rate=1e-3, seed=0,
                       resolution=128, batch_size=1, bidirectional=True, precision="auto",
                       gradient_checkpointing=False, trajectory="renoise")
PAIR_SETTINGS = dict(before_prompt="", after_prompt="", strengths="1", rank=4, alpha=1.0, train_method="noxattn",
                     include_conv=False, steps=2, learning_rate=1e-3, seed=0, resolution=0, batch_size=1,
                     precision="auto", gradient_checkpointing=False)


def train_prompts(host, toy, **overrides):
    model, clip = toy
    return host.node("ConceptSlidersTrainFromPrompts").train(model, clip=clip, **{**PROMPT_SETTINGS, **overrides})


def train_pairs(host, toy, **overrides):
    model, clip = toy
    before, after = host.node("ConceptSlidersToyWorldPairs").pairs("size", 2, 0)
    return host.node("ConceptSlidersTrainFromImagePairs").train(model, clip=clip, before_latent=before,
                                                                 after_latent=after, **{**PAIR_SETTINGS, **overrides})


@pytest.mark.parametrize("guidance", [NAN, INF, -INF, -1.0])
@pytest.mark.bad_input("NaN guidance")
def test_a_non_finite_guidance_is_named_instead_of_blaming_the_learning_rate(host, toy, guidance):
    refused(lambda: train_prompts(host, toy, guidance=guidance),
            r"Train Slider From Prompts: guidance is .*; give a finite number from 0 to 50", toy[0])


@pytest.mark.parametrize(("trainer", "alpha"), [(train_prompts, INF), (train_pairs, INF), (train_prompts, NAN),
                                                (train_pairs, 0.0)])
@pytest.mark.bad_input("inf alpha setting")
def test_a_non_finite_alpha_is_named_before_training(host, toy, trainer, alpha):
    refused(lambda: trainer(host, toy, alpha=alpha), r"Train Slider From .*: alpha is .*; give a finite number from "
                                                     r"0.01 to 128", toy[0])


@pytest.mark.parametrize(("trainer", "learning_rate"), [(train_prompts, INF), (train_pairs, INF),
                                                        (train_prompts, 1e30), (train_pairs, NAN)])
@pytest.mark.bad_input("inf learning rate")
def test_a_non_finite_or_huge_learning_rate_is_refused_before_training(host, toy, trainer, learning_rate):
    refused(lambda: trainer(host, toy, learning_rate=learning_rate),
            r"Train Slider From .*: learning_rate is .*; give a finite number from 1e-07 to 1", toy[0])


@pytest.mark.parametrize(("trainer", "name", "value"), [(train_prompts, "resolution", -64),
                                                        (train_pairs, "resolution", -1),
                                                        (train_prompts, "batch_size", 0), (train_pairs, "rank", 0),
                                                        (train_prompts, "steps", -5)])
@pytest.mark.bad_input("negative/zero API resolution")
def test_negative_training_sizes_are_refused_naming_the_input(host, toy, trainer, name, value):
    refused(lambda: trainer(host, toy, **{name: value}), rf"Train Slider From .*: {name} is {value}; give a whole number",
            toy[0])


@pytest.mark.parametrize("count", [0, -3, 257])
@pytest.mark.bad_input("zero rows")
def test_toy_world_pairs_refuse_a_count_out_of_range(host, count):
    with pytest.raises(errors.SliderConfigError, match=rf"Toy World Pairs \(testing\): count is {count}; give a whole "
                                                       "number from 1 to 256"):
        host.node("ConceptSlidersToyWorldPairs").pairs("size", count, 0)


@pytest.mark.bad_input("NaN strength")
def test_a_nan_strength_in_an_api_graph_reaches_the_node_and_is_refused_there(host, sliders_dir):
    """The host's own validation lets NaN through (NaN < min is false); the executor reports our message."""
    from test_nodes import TinyModelNode, graph

    host.nodes.NODE_CLASS_MAPPINGS["TestTinyModel"] = TinyModelNode
    host.node("ConceptSlidersSave").save(random_slider(tiny_model("sd1"), name="nan"), "nan", "fp32")
    prompt = graph("sd1", "nan_00001.safetensors")
    prompt["3"]["inputs"]["strength"] = NAN
    with pytest.raises(GraphError) as caught:
        host.run_graph(prompt)
    assert "Slider Strength: strength is nan" in caught.value.message
