"""The command line trainer on tiny diffusers pipelines saved locally: a slider it trains loads in the real
ComfyUI host and predicts the same there as in diffusers; Ctrl-C, checkpoints, resume, image pairs, the
torch.distributed path, SDXL names."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from concept_sliders.slider_core.cli import main as cli
from concept_sliders.slider_core.cli import progress as cli_progress
from concept_sliders.slider_core.hosts import diffusers as diffusers_host
from concept_sliders.slider_core.io import checkpoints
from concept_sliders.slider_core.io import slider_files as formats
from concept_sliders.slider_core.training import distributed
from PIL import Image
from tiny_diffusers import TINY_SDXL_ORIGINAL_UNET, build_sd1, build_sdxl

from harness.host import PACK_ROOT
from harness.models import tiny_model

TEXT_CONFIG = """\
model: {model}
output: {output}
resolution: 64
checkpoint_every: {every}
prompts:
  target: a person
  positive: an old person
  negative: a young person
training:
  steps: {steps}
  learning_rate: 0.01
  trajectory_steps: 3
  refresh_every: 1
"""


@pytest.fixture(scope="module")
def sd1_folder(tmp_path_factory, host) -> Path:
    return build_sd1(tmp_path_factory.mktemp("tiny-sd1") / "pipeline", host.path)


def text_config(folder: Path, model: Path, steps: int = 3, every: int = 0, name: str = "age") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(TEXT_CONFIG.format(model=model, output=folder / "out" / f"{name}.safetensors", steps=steps,
                                       every=every))
    return path


def comfy_twin(model: object) -> object:
    """The real host's own SD1.x/SDXL model class holding the diffusers UNet's weights (renamed by the host's
    own diffusers→original map)."""
    import comfy.model_base
    import comfy.model_patcher
    import comfy.supported_models
    import comfy.utils

    if model.architecture == "sdxl":
        base = comfy.model_base.SDXL(comfy.supported_models.SDXL(dict(TINY_SDXL_ORIGINAL_UNET)), device=torch.device("cpu"))
        patcher = comfy.model_patcher.ModelPatcher(base, load_device=torch.device("cpu"), offload_device=torch.device("cpu"))
    else:
        patcher = tiny_model("sd1")
    names = comfy.utils.unet_to_diffusers(patcher.model.model_config.unet_config)
    weights = model.unet.state_dict()
    converted = {original: weights[name] for name, original in names.items() if name in weights}
    missing, unexpected = patcher.model.diffusion_model.load_state_dict(converted, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    return patcher


def comfy_eps(patcher: object, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor,
              y: torch.Tensor | None = None) -> torch.Tensor:
    import comfy.model_management

    comfy.model_management.load_models_gpu([patcher])
    extra = {} if y is None else {"y": y}
    with torch.no_grad():
        denoised = patcher.model.apply_model(x, sigma, c_crossattn=context, **extra)
    return (x - denoised) / sigma.view(-1, 1, 1, 1)


def test_cli_slider_gives_the_same_prediction_in_comfyui_as_in_diffusers(tmp_path, sd1_folder, host, sliders_dir):
    """Trained by `python -m slider_core` (a real subprocess from the repo root), then applied at strength 1.5
    in diffusers (the core's forward-hook branches) and in ComfyUI through Load Concept Slider + Slider Strength
    and through ComfyUI's own LoraLoaderModelOnly (weight patches). Compared: the UNet's ε for identical x, σ and
    text conditioning (denoiser outputs, not full sampling runs). Tolerance: fp32, max |Δ| ≤ 1e-4 · max |ε|,
    float rounding of two different summation orders (patched W + sΔW vs. branch f(x) + s·up(down(x)))."""
    config = text_config(tmp_path, sd1_folder)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "slider_core", "train", "--config", str(config), "--no-progress"],
                          cwd=PACK_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    output = tmp_path / "out" / "age.safetensors"
    assert output.is_file() and "saved" in done.stdout
    slider = formats.load_slider(output)
    assert slider.metadata.architecture == "sd1" and slider.metadata.positive == "an old person"

    model = diffusers_host.load_model(sd1_folder, torch.device("cpu"))
    denoiser = diffusers_host.DiffusersDenoiser(model, ["an old person", ""], (64, 64))
    generator = torch.Generator().manual_seed(3)
    sigma = model.sigmas[[150, 700]]
    x = torch.randn(2, 4, 8, 8, generator=generator) * sigma.view(-1, 1, 1, 1)
    strength = 1.5
    with torch.no_grad():
        plain = denoiser.predict(x, sigma, [0, 1])
        with diffusers_host.slider_branches(model, slider, strength).attached(model.unet):
            slid = denoiser.predict(x, sigma, [0, 1])

    (sliders_dir / "age.safetensors").write_bytes(output.read_bytes())
    (host.loras_dir / "age.safetensors").write_bytes(output.read_bytes())
    base = comfy_twin(model)
    context = denoiser.contexts[[0, 1]]
    loaded = host.node("ConceptSlidersLoad").load("age.safetensors")[0]
    ours = host.node("ConceptSlidersStrength").apply(base, loaded, strength, 0.0, 1.0)[0]
    native = host.node("LoraLoaderModelOnly").load_lora_model_only(base, "age.safetensors", strength)[0]
    tolerance = 1e-4 * float(slid.abs().max())
    assert float((slid - plain).abs().max()) > 100 * tolerance, "the slider must change the prediction"
    torch.testing.assert_close(comfy_eps(base, x, sigma, context), plain, atol=tolerance, rtol=0)
    torch.testing.assert_close(comfy_eps(ours, x, sigma, context), slid, atol=tolerance, rtol=0)
    torch.testing.assert_close(comfy_eps(native, x, sigma, context), slid, atol=tolerance, rtol=0)
    (host.loras_dir / "age.safetensors").unlink()


def test_single_file_checkpoint_loads_offline_with_its_folder_configs(tmp_path, sd1_folder):
    """An original-layout .safetensors (model.diffusion_model.*, first_stage_model.*, cond_stage_model.*), built from
    the tiny pipeline's weights through the host's own diffusers↔original name maps, loads with the folder's
    configs and nothing downloaded, and predicts exactly what the folder does."""
    import comfy.diffusers_convert
    import comfy.utils
    import safetensors.torch

    folder_model = diffusers_host.load_model(sd1_folder, torch.device("cpu"))
    pipeline = folder_model.pipeline
    names = comfy.utils.unet_to_diffusers(tiny_model("sd1").model.model_config.unet_config)
    checkpoint = {"model.diffusion_model." + names[key]: value for key, value in pipeline.unet.state_dict().items()}
    vae = comfy.diffusers_convert.convert_vae_state_dict(pipeline.vae.state_dict())
    checkpoint.update({"first_stage_model." + key: value for key, value in vae.items()})
    checkpoint.update({"cond_stage_model.transformer.text_model." + key.removeprefix("text_model."): value
                       for key, value in pipeline.text_encoder.state_dict().items()})
    single = tmp_path / "tiny.safetensors"
    safetensors.torch.save_file({key: value.contiguous() for key, value in checkpoint.items()}, str(single))

    file_model = diffusers_host.load_model(single, torch.device("cpu"), config_folder=sd1_folder)
    assert file_model.architecture == "sd1"
    x, sigma = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0)), folder_model.sigmas[[300]]
    with torch.no_grad():
        expected = diffusers_host.DiffusersDenoiser(folder_model, ["a person"], (64, 64)).predict(x, sigma, [0])
        got = diffusers_host.DiffusersDenoiser(file_model, ["a person"], (64, 64)).predict(x, sigma, [0])
    torch.testing.assert_close(got, expected, atol=0, rtol=0)


def interrupt_at(monkeypatch: pytest.MonkeyPatch, stop_step: int) -> None:
    """A real SIGINT delivered to this process during step `stop_step`, as a terminal's Ctrl-C would be."""
    original = cli_progress.Progress.step

    def step(self, step: int, total: int, loss: float) -> None:
        if step == stop_step:
            signal.raise_signal(signal.SIGINT)
        original(self, step, total, loss)

    monkeypatch.setattr(cli_progress.Progress, "step", step)


def test_ctrl_c_stops_after_the_step_without_a_slider_file_and_resume_finishes_identically(
        tmp_path, sd1_folder, monkeypatch, capsys):
    straight = text_config(tmp_path, sd1_folder, steps=4, name="straight")
    cpu = ["--no-progress", "--device", "cpu"]  # bitwise repeatable kernels
    assert cli.main(["train", "--config", str(straight), *cpu]) == 0

    stopped = text_config(tmp_path, sd1_folder, steps=4, every=1, name="stopped")
    with monkeypatch.context() as patch:
        interrupt_at(patch, 2)
        assert cli.main(["train", "--config", str(stopped), *cpu]) == cli.EXIT_INTERRUPTED
    output = tmp_path / "out" / "stopped.safetensors"
    checkpoint = tmp_path / "out" / "stopped.checkpoint.pt"
    assert not output.exists(), "an interrupted run must not leave a slider file"
    assert checkpoints.load_checkpoint(checkpoint).step == 2
    assert "--resume" in capsys.readouterr().err

    assert cli.main(["train", "--config", str(stopped), *cpu, "--resume", str(checkpoint)]) == 0
    assert checkpoints.load_checkpoint(checkpoint).step == 4
    expected = formats.load_slider(tmp_path / "out" / "straight.safetensors")
    resumed = formats.load_slider(output)
    for stem, delta in expected.deltas.items():  # renoise with refresh_every 1: the random stream is restored too
        torch.testing.assert_close(resumed.deltas[stem].up, delta.up, atol=0, rtol=0)

    other = text_config(tmp_path, sd1_folder, steps=4, name="other")
    other.write_text(other.read_text().replace("an old person", "a tall person"))
    assert cli.main(["train", "--config", str(other), *cpu, "--resume", str(checkpoint)]) == cli.EXIT_CONFIG
    assert "different settings" in capsys.readouterr().err


def test_misspelt_key_exits_with_the_suggestion(tmp_path, sd1_folder, capsys):
    config = text_config(tmp_path, sd1_folder)
    config.write_text(config.read_text().replace("learning_rate", "learnig_rate"))
    assert cli.main(["train", "--config", str(config)]) == cli.EXIT_CONFIG
    assert "did you mean 'learning_rate'?" in capsys.readouterr().err


def test_reference_image_pair_form_trains_from_folders_and_scales(tmp_path, sd1_folder):
    """The reference's layout: one folder per scale, a file name shared by the −s and +s folders is a pair."""
    generator = np.random.default_rng(0)
    for folder, shade in (("small", 60), ("big", 200)):
        (tmp_path / "pairs" / folder).mkdir(parents=True)
        for index in range(2):
            pixels = np.clip(generator.normal(shade, 20, (64, 96, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "pairs" / folder / f"{index}.png")
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text('- target: ""\n  positive: ""\n  unconditional: ""\n  neutral: ""\n  action: "enhance"\n'
                       "  guidance_scale: 1\n  resolution: 64\n  batch_size: 1\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"prompts_file: {prompts}\npretrained_model:\n  name_or_path: {sd1_folder}\n"
                      "network:\n  type: c3lier\n  training_method: noxattn\ntrain:\n  precision: float32\n"
                      f"  iterations: 2\n  lr: 0.001\nsave:\n  name: size\n  path: {tmp_path / 'out'}\n  per_steps: 0\n")
    args = ["train", "--config", str(config), "--folder_main", str(tmp_path / "pairs"), "--folders", "small,big",
            "--scales=-1,1", "--no-progress"]
    assert cli.main(args) == 0
    slider = formats.load_slider(tmp_path / "out" / "size.safetensors")
    assert slider.metadata.extra["scales"] == "-1, 1" and slider.has_conv
    assert any(float(delta.up.abs().sum()) > 0 for delta in slider.deltas.values())


def test_torch_distributed_path_averages_gradients(tmp_path, sd1_folder, monkeypatch):
    """The torchrun code path, in one gloo process: the session is the distributed one and every optimiser step
    goes through its all-reduce."""
    import torch.distributed as dist

    calls = []
    original = distributed.DistributedSession._average_gradients

    def spy(self, optimizer, args, kwargs):
        calls.append(self.world)
        return original(self, optimizer, args, kwargs)

    monkeypatch.setattr(distributed.DistributedSession, "_average_gradients", spy)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        assert cli.main(["train", "--config", str(text_config(tmp_path, sd1_folder)), "--no-progress"]) == 0
    finally:
        dist.destroy_process_group()
    assert calls == [1, 1, 1]
    assert (tmp_path / "out" / "age.safetensors").is_file()


@pytest.mark.slow
def test_two_gloo_processes_under_torchrun_train_one_slider(tmp_path, sd1_folder):
    """The documented launch, `torchrun --nproc_per_node 2 -m slider_core train ...`, on the CPU (gloo): both
    processes run, rank 0 alone writes the checkpoint and the slider (~25 s on 2 shared cores)."""
    config = text_config(tmp_path, sd1_folder, steps=2, every=2)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "slider_core",
                           "train", "--config", str(config), "--no-progress", "--device", "cpu"],
                          cwd=PACK_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("saved ") == 1
    assert checkpoints.load_checkpoint(tmp_path / "out" / "age.checkpoint.pt").step == 2
    assert formats.load_slider(tmp_path / "out" / "age.safetensors").metadata.architecture == "sd1"


def test_sdxl_cli_slider_gives_the_same_prediction_in_comfyui_as_in_diffusers(tmp_path, host):
    """SDXL: trained by the CLI (in-process), spelt in original-UNet names, applied by ComfyUI's own
    LoraLoaderModelOnly to the host's SDXL class holding the same weights. Inputs identical: x, σ, context, and
    the vector y the diffusers UNet builds from the pooled text embedding and the size ids. Same tolerance as SD1."""
    model = diffusers_host.load_model(build_sdxl(tmp_path / "xl", host.path), torch.device("cpu"))
    config = text_config(tmp_path, tmp_path / "xl", steps=3)
    assert cli.main(["train", "--config", str(config), "--no-progress", "--device", "cpu"]) == 0
    output = tmp_path / "out" / "age.safetensors"
    slider = formats.load_slider(output)
    denoiser = diffusers_host.DiffusersDenoiser(model, ["an old person", ""], (64, 64))
    sigma = model.sigmas[[150, 700]]
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(3)) * sigma.view(-1, 1, 1, 1)
    with torch.no_grad():
        plain = denoiser.predict(x, sigma, [0, 1])
        with diffusers_host.slider_branches(model, slider, 1.5).attached(model.unet):
            slid = denoiser.predict(x, sigma, [0, 1])
        added = denoiser.added
        sizes = model.unet.add_time_proj(added["time_ids"].flatten()).reshape(2, -1)
        y = torch.cat([added["text_embeds"], sizes.to(added["text_embeds"].dtype)], dim=-1)
    (host.loras_dir / "age_xl.safetensors").write_bytes(output.read_bytes())
    base = comfy_twin(model)
    native = host.node("LoraLoaderModelOnly").load_lora_model_only(base, "age_xl.safetensors", 1.5)[0]
    tolerance = 1e-4 * float(slid.abs().max())
    assert float((slid - plain).abs().max()) > 100 * tolerance, "the slider must change the prediction"
    torch.testing.assert_close(comfy_eps(base, x, sigma, denoiser.contexts, y), plain, atol=tolerance, rtol=0)
    torch.testing.assert_close(comfy_eps(native, x, sigma, denoiser.contexts, y), slid, atol=tolerance, rtol=0)
    (host.loras_dir / "age_xl.safetensors").unlink()


def test_sdxl_slider_uses_the_original_unet_names_comfyui_maps(tmp_path, host):
    """SDXL files are spelt with the original UNet's module names (as kohya and the ComfyUI trainer write them);
    every one must be the name the host's own diffusers→original map gives for that layer."""
    import comfy.utils

    model = diffusers_host.load_model(build_sdxl(tmp_path / "xl", host.path), torch.device("cpu"))
    paths = diffusers_host.target_paths(model, "full", include_conv=True)
    stems = diffusers_host.kohya_stems(model, paths)
    layout = {"num_res_blocks": [2, 2], "channel_mult": [1, 2], "transformer_depth": [0, 0, 1, 1],
              "transformer_depth_output": [0, 0, 0, 1, 1, 1], "transformer_depth_middle": 1}
    names = comfy.utils.unet_to_diffusers(layout)
    assert len(paths) > 60
    for path in paths:
        assert stems[path] == "lora_unet_" + names[path + ".weight"][: -len(".weight")].replace(".", "_")
    denoiser = diffusers_host.DiffusersDenoiser(model, ["a person", ""], (64, 64))
    assert denoiser.added["text_embeds"].shape == (2, 32) and denoiser.added["time_ids"].shape == (2, 6)
    config = text_config(tmp_path, tmp_path / "xl", steps=2)
    assert cli.main(["train", "--config", str(config), "--no-progress", "--device", "cpu"]) == 0
    slider = formats.load_slider(tmp_path / "out" / "age.safetensors")
    assert slider.metadata.architecture == "sdxl"
    assert set(slider.deltas) == {stems[path] for path in diffusers_host.target_paths(model, "noxattn", True)}


def test_reference_prompts_with_two_entries_train_one_slider_on_both(tmp_path, sd1_folder, monkeypatch):
    """The reference's shipped prompts.yaml (male/female, old vs young): one slider, an entry drawn per step."""
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text("".join(
        f'- target: "{who} person"\n  positive: "{who} person, very old"\n  unconditional: "{who} person, very young"\n'
        f'  neutral: "{who} person"\n  action: "enhance"\n  guidance_scale: 4\n  resolution: 64\n  batch_size: 1\n'
        for who in ("male", "female")))
    config = tmp_path / "config.yaml"
    config.write_text(f"prompts_file: {prompts}\npretrained_model:\n  name_or_path: {sd1_folder}\n"
                      "network:\n  type: c3lier\n  training_method: noxattn\ntrain:\n  precision: float32\n"
                      f"  iterations: 6\n  lr: 0.001\n  max_denoising_steps: 3\nsave:\n  name: age\n"
                      f"  path: {tmp_path / 'out'}\n  per_steps: 0\n")
    seen: set[int] = set()
    original = diffusers_host.DiffusersDenoiser.predict

    def predict(self, x, sigma, prompts):
        seen.update(prompts)
        return original(self, x, sigma, prompts)

    monkeypatch.setattr(diffusers_host.DiffusersDenoiser, "predict", predict)
    assert cli.main(["train", "--config", str(config), "--no-progress", "--device", "cpu"]) == 0
    width = 5  # target, anchor, positive, negative, "" per entry
    assert {0, 1, 2, 3} <= seen and {width, width + 1, width + 2, width + 3} <= seen, sorted(seen)
    slider = formats.load_slider(tmp_path / "out" / "age.safetensors")
    assert slider.metadata.guidance == 4.0 and slider.metadata.target == "male person"


def test_reference_v2_flag_that_contradicts_the_model_is_an_error(tmp_path, sd1_folder, capsys):
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text('- target: "a person"\n  positive: "an old person"\n  unconditional: "a young person"\n')
    config = tmp_path / "config.yaml"
    config.write_text(f"prompts_file: {prompts}\npretrained_model:\n  name_or_path: {sd1_folder}\n  v2: true\n")
    assert cli.main(["train", "--config", str(config), "--no-progress", "--device", "cpu"]) == cli.EXIT_CONFIG
    assert "v2: true but" in capsys.readouterr().err and not (tmp_path / "output").exists()
