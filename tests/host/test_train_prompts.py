"""Train Slider From Prompts in the real host, on the toy world's model and CLIP (real host classes)."""
from __future__ import annotations

import shutil

import pytest
import torch
from concept_sliders.nodes.host import training as host_training
from concept_sliders.slider_core import errors
from safetensors.torch import load_file
from training_checks import progress_values, steps_before_cancel, weights_hash

from harness.models import TINY_SD1_UNET, denoise

BASE_SETTINGS = dict(target="a blob", positive="a large blob", negative="a small blob", preserve="red\nblue",
                     guidance=4.0, rank=4, alpha=1.0, train_method="noxattn", include_conv=True, steps=12,
                     learning_rate=1e-3, seed=0, resolution=128, batch_size=1, bidirectional=True, precision="auto",
                     gradient_checkpointing=False, trajectory="renoise")


@pytest.fixture(scope="module")
def toy(host):
    return host.node("ConceptSlidersToyWorldLoader").load()


def train(host, toy, **overrides):
    model, clip = toy
    return host.node("ConceptSlidersTrainFromPrompts").train(model, clip=clip, **{**BASE_SETTINGS, **overrides})


def test_training_returns_a_described_slider_and_leaves_weights_bit_identical(host, toy):
    before = weights_hash(toy[0])
    slider, curve, preview, _ = train(host, toy, steps=20, learning_rate=2e-3)
    assert weights_hash(toy[0]) == before
    assert curve.shape[0] == 1 and curve.shape[-1] == 3 and curve.std() > 0
    assert slider.metadata.positive == "a large blob" and slider.metadata.preserve == ["red", "blue"]
    assert slider.metadata.architecture == "sd1" and len(slider.deltas) > 0
    assert not torch.equal(denoise(preview), denoise(toy[0]))


def test_a_noise_range_trains_a_different_slider_and_is_recorded_in_the_file(host, toy):
    """Same seed, same draws of everything else: only the noise levels differ, so the slider must too, and whoever
    loads the file can read how it was trained."""
    whole, _, _, _ = train(host, toy, steps=6)
    noisy_half, _, _, _ = train(host, toy, steps=6, noise_min=0.5)
    assert whole.metadata.extra["noise_range"] == "0-1" and noisy_half.metadata.extra["noise_range"] == "0.5-1"
    assert not all(torch.equal(whole.deltas[k].up, noisy_half.deltas[k].up) for k in whole.deltas)


def test_loss_decreases_over_a_short_run(host, toy, monkeypatch):
    """Paired by seed: the same latents and timesteps with a learning rate of ~0 (the untrained slider's loss,
    η²‖direction‖²) and with a real one; the trained slider's loss over the last steps must be well below."""
    recorded: list[float] = []
    original = host_training.TrainingProgress.step

    def spy(self, step, total, loss):
        recorded.append(loss)
        original(self, step, total, loss)

    monkeypatch.setattr(host_training.TrainingProgress, "step", spy)
    train(host, toy, steps=80, learning_rate=1e-7)
    untrained = sum(recorded[-30:])
    recorded.clear()
    train(host, toy, steps=80, learning_rate=2e-3)
    trained = sum(recorded[-30:])
    assert trained < 0.7 * untrained, f"loss did not fall: untrained {untrained:.5f}, trained {trained:.5f}"


def test_progress_bar_advances_once_per_step(host, toy):
    calls = progress_values(lambda: train(host, toy, steps=7))
    assert [value for value, _ in calls] == list(range(1, 8)) and {total for _, total in calls} == {7}


def test_progress_text_names_the_training_node(host, sliders_dir, monkeypatch):
    """Where the host can show text under a node (PromptServer.send_progress_text, ComfyUI 0.33), the loss goes
    under the node that trains, found from the host's execution context, also when the prompt has no client."""
    import server

    if not hasattr(server.PromptServer, "send_progress_text"):
        pytest.skip("this host cannot show text under a node")
    sent: list[tuple[str, str]] = []

    class Server:
        last_node_id = None

        def send_progress_text(self, text, node_id, sid=None):
            sent.append((text, node_id))

    monkeypatch.setattr(server.PromptServer, "instance", Server(), raising=False)
    host.run_graph({
        "1": {"class_type": "ConceptSlidersToyWorldLoader", "inputs": {}},
        "7": {"class_type": "ConceptSlidersTrainFromPrompts",
              "inputs": {"model": ["1", 0], "clip": ["1", 1], **{**BASE_SETTINGS, "steps": 2}}},
        "3": {"class_type": "ConceptSlidersSave", "inputs": {"slider": ["7", 0], "filename_prefix": "texted",
                                                             "precision": "fp32"}},
    })
    assert sent and {node_id for _, node_id in sent} == {"7"}
    assert "step 2/2, loss" in sent[-1][0]


@pytest.mark.bad_input("cancel mid-training")
def test_cancel_stops_within_one_step_and_leaves_weights_intact(host, toy):
    before = weights_hash(toy[0])
    assert steps_before_cancel(lambda: train(host, toy, steps=50), cancel_at=3) == [1, 2, 3]
    assert weights_hash(toy[0]) == before
    assert all(not p.requires_grad or p.is_leaf for p in toy[0].model.parameters())


@pytest.mark.bad_input("diverging training")
def test_divergence_is_reported_with_the_step_and_leaves_weights_intact(host, toy):
    before = weights_hash(toy[0])
    with pytest.raises(errors.SliderError, match=r"diverged at step \d+.*lower the learning rate"):
        train(host, toy, steps=30, learning_rate=1.0, guidance=50.0, alpha=128.0)
    assert weights_hash(toy[0]) == before


def test_same_seed_same_slider_on_cpu(host, toy):
    first, _, _, _ = train(host, toy, steps=5)
    second, _, _, _ = train(host, toy, steps=5)
    third, _, _, _ = train(host, toy, steps=5, seed=1)
    assert all(torch.equal(first.deltas[k].up, second.deltas[k].up) for k in first.deltas)
    assert not all(torch.equal(first.deltas[k].up, third.deltas[k].up) for k in first.deltas)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"train_method": "everything"}, "unknown train method 'everything'"),
    ({"target": ""}, "target prompt is empty"),
    ({"resolution": 100}, "not a multiple of 64"),
    ({"trajectory": "teleport"}, "unknown trajectory"),
    ({"noise_min": 0.8, "noise_max": 0.5}, "noise_min 0.8 is not below noise_max 0.5"),
    ({"noise_max": 1.5}, "noise_max is 1.5; give a finite number from 0 to 1"),
])
@pytest.mark.bad_input("bad training setting")
def test_bad_settings_are_clear_errors(host, toy, overrides, message):
    with pytest.raises(errors.SliderConfigError, match=message):
        train(host, toy, **overrides)


@pytest.mark.bad_input("untrainable model family")
def test_model_family_we_cannot_train_is_refused(host, toy):
    import comfy.model_base
    import comfy.model_patcher
    import comfy.supported_models

    config = comfy.supported_models.SDXLRefiner({**TINY_SD1_UNET, "adm_in_channels": 2560,
                                                 "num_classes": "sequential", "model_channels": 64,
                                                 "use_linear_in_transformer": True})
    refiner = comfy.model_patcher.ModelPatcher(comfy.model_base.SDXLRefiner(config, device=torch.device("cpu")),
                                               load_device=torch.device("cpu"), offload_device=torch.device("cpu"))
    with pytest.raises(errors.SliderConfigError, match="cannot train a slider on SDXLRefiner"):
        host.node("ConceptSlidersTrainFromPrompts").train(refiner, clip=toy[1], **BASE_SETTINGS)


def test_trained_slider_saved_file_matches_comfyui_lora_loader(host, toy, sliders_dir):
    slider, _, preview, _ = train(host, toy, steps=10, learning_rate=3e-3)
    path = host.node("ConceptSlidersSave").save(slider, "trained", "fp32")["result"][0]
    shutil.copy(path, host.loras_dir / "trained.safetensors")
    native = host.node("LoraLoaderModelOnly").load_lora_model_only(toy[0], "trained.safetensors", 1.0)[0]
    assert torch.equal(denoise(preview), denoise(native))
    ours = host.node("ConceptSlidersStrength").apply(toy[0], slider, -1.5, 0.0, 1.0)[0]
    native = host.node("LoraLoaderModelOnly").load_lora_model_only(toy[0], "trained.safetensors", -1.5)[0]
    assert torch.equal(denoise(ours), denoise(native))
    assert not torch.equal(denoise(ours), denoise(toy[0]))
    (host.loras_dir / "trained.safetensors").unlink()


def test_two_trainings_queued_one_after_the_other_both_succeed(host, sliders_dir):
    """Two prompts through one executor, as the app's queue runs them: the second reuses the cached toy model the
    first trained on. Same seed, so the second slider equals the first bit for bit only if the first training left
    nothing behind in the shared model (weights, hooks, grad flags, patches)."""
    settings = {**BASE_SETTINGS, "steps": 6}
    graph = {
        "1": {"class_type": "ConceptSlidersToyWorldLoader", "inputs": {}},
        "2": {"class_type": "ConceptSlidersTrainFromPrompts", "inputs": {"model": ["1", 0], "clip": ["1", 1], **settings}},
        "3": {"class_type": "ConceptSlidersSave",
              "inputs": {"slider": ["2", 0], "filename_prefix": "queued", "precision": "fp32"}},
    }
    executor = host.new_executor()
    host.run_graph(graph, executor)
    graph["3"]["inputs"]["filename_prefix"] = "queued_again"  # a changed save node forces the training to run again
    graph["2"]["inputs"]["learning_rate"] = BASE_SETTINGS["learning_rate"] * (1 + 1e-9)
    host.run_graph(graph, executor)
    first, second = (load_file(next(sliders_dir.glob(f"{prefix}_0*.safetensors")))
                     for prefix in ("queued", "queued_again"))
    assert first.keys() == second.keys() and len(first) > 0
    assert all(torch.allclose(first[key], second[key], rtol=1e-5, atol=1e-7) for key in first)
