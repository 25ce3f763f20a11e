"""Training configs from YAML: the reference implementation's shipped examples parse into the jobs they describe,
and a misspelt key is an error naming the closest known key (the reference ignores it silently)."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("yaml", reason="the CLI's job files are YAML: pyyaml is a CLI dependency")

from slider_core import errors
from slider_core.cli import job_files as config_files
from slider_core.data.pair_folders import PairFolders

# The reference's shipped text-slider config (trainscripts/textsliders/data/config.yaml), key for key.
REFERENCE_CONFIG = """\
prompts_file: "{prompts}"
pretrained_model:
  name_or_path: "CompVis/stable-diffusion-v1-4" # or a .ckpt / .safetensors file
  v2: false
  v_pred: false
network:
  type: "c3lier"
  rank: 4
  alpha: 1.0
  training_method: "noxattn"
train:
  precision: "bfloat16"
  noise_scheduler: "ddim"
  iterations: 1000
  lr: 0.0002
  optimizer: "AdamW"
  lr_scheduler: "constant"
  max_denoising_steps: 50
save:
  name: "temp"
  path: "./models"
  per_steps: 500
  precision: "bfloat16"
logging:
  use_wandb: false
  verbose: false
other:
  use_xformers: true
"""
# The shipped prompts.yaml: two entries, old vs young, for male and female persons.
REFERENCE_PROMPTS = """\
- target: "male person"
  positive: "male person, very old"
  unconditional: "male person, very young"
  neutral: "male person"
  action: "enhance"
  guidance_scale: 4
  resolution: 512
  dynamic_resolution: false
  batch_size: 1
- target: "female person"
  positive: "female person, very old"
  unconditional: "female person, very young"
  neutral: "female person"
  action: "enhance"
  guidance_scale: 4
  resolution: 512
  dynamic_resolution: false
  batch_size: 1
"""
# The image-slider prompts.yaml: one entry of empty prompts at guidance 1.
REFERENCE_IMAGE_PROMPTS = """\
- target: ""
  positive: ""
  unconditional: ""
  neutral: ""
  action: "enhance"
  guidance_scale: 1
  resolution: 512
  dynamic_resolution: false
  batch_size: 1
"""
# The GPT-written prompt files write `guidance:` and `rank:`, which the reference ignores (η = 1).
GPT_PROMPTS = """\
- target: male white person
  positive: male white person, smiling, happy face, big smile
  unconditional: male white person, frowning, grumpy, sad
  neutral: male white person
  guidance: 4
  action: enhance
  resolution: 512
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_reference_text_config_and_prompts_parse_into_the_job_they_describe(tmp_path):
    prompts = write(tmp_path, "prompts.yaml", REFERENCE_PROMPTS)
    config = write(tmp_path, "config.yaml", REFERENCE_CONFIG.format(prompts=prompts))
    job = config_files.load_job(config)
    assert job.model == Path("CompVis/stable-diffusion-v1-4") and job.v_prediction is False
    assert (job.train_method, job.include_conv, job.precision) == ("noxattn", True, "bf16")
    assert (job.text.rank, job.text.alpha, job.text.steps, job.text.learning_rate) == (4, 1.0, 1000, 2e-4)
    assert job.text.eta == 4.0 and job.text.trajectory_steps == 50 and job.text.latent_size == (64, 64)
    assert job.output == Path("models/temp.safetensors") and job.checkpoint_every == 500
    assert job.save_precision == "bf16"
    assert [entry.target for entry in job.prompts] == ["male person", "female person"]
    first = job.prompts[0]
    assert (first.positive, first.negative, first.anchor, first.erase) == (
        "male person, very old", "male person, very young", "male person", False)


def test_reference_image_slider_config_with_folders_and_scales(tmp_path):
    prompts = write(tmp_path, "prompts.yaml", REFERENCE_IMAGE_PROMPTS)
    config = write(tmp_path, "config.yaml", REFERENCE_CONFIG.format(prompts=prompts))
    pairs = PairFolders(folder=tmp_path, folders=["bigsize", "smallsize"], strengths=[1, -1])
    job = config_files.load_job(config, pairs=pairs)
    assert job.text is None and job.pair_config.steps == 1000 and job.pairs.folders == ["bigsize", "smallsize"]
    with pytest.raises(errors.SliderConfigError, match="strength 2 has no folder at -2"):
        PairFolders(folder=tmp_path, folders=["a", "b"], strengths=[2, -1])


def test_gpt_style_guidance_key_is_refused_with_the_right_key_suggested(tmp_path):
    prompts = write(tmp_path, "prompts.yaml", GPT_PROMPTS)
    config = write(tmp_path, "config.yaml", REFERENCE_CONFIG.format(prompts=prompts))
    with pytest.raises(errors.SliderConfigError) as caught:
        config_files.load_job(config)
    message = str(caught.value)
    assert "entry 1" in message and "'guidance'" in message and "did you mean 'guidance_scale'?" in message


@pytest.mark.parametrize(("typo", "suggestion"), [
    ("network:\n  type: c3lier\n  rnak: 4\n", "did you mean 'rank'?"),
    ("train:\n  iteration: 10\n", "did you mean 'iterations'?"),
    ("pretrained_model:\n  name_or_path: m\n  vpred: true\n", "did you mean 'v_pred'?"),
])
def test_misspelt_reference_config_key_names_the_right_one(tmp_path, typo, suggestion):
    prompts = write(tmp_path, "prompts.yaml", REFERENCE_PROMPTS)
    text = f"prompts_file: {prompts}\npretrained_model:\n  name_or_path: m\n" if "pretrained_model" not in typo \
        else f"prompts_file: {prompts}\n"
    config = write(tmp_path, "config.yaml", text + typo)
    with pytest.raises(errors.SliderConfigError, match=suggestion):
        config_files.load_job(config)


def test_unsupported_reference_values_are_errors_not_silent_substitutions(tmp_path):
    prompts = write(tmp_path, "prompts.yaml", REFERENCE_PROMPTS)
    base = f"prompts_file: {prompts}\npretrained_model:\n  name_or_path: m\n"
    cases = {"train:\n  optimizer: lion\n": "train.optimizer 'lion' is not supported",
             "network:\n  training_method: innoxattn\n": "unknown train method 'innoxattn'",
             "logging:\n  use_wandb: true\n": "use_wandb is not supported"}
    for extra, message in cases.items():
        config = write(tmp_path, "config.yaml", base + extra)
        with pytest.raises(errors.SliderConfigError, match=message):
            config_files.load_job(config)


def test_our_schema_text_and_pairs(tmp_path):
    text = write(tmp_path, "ours.yaml", """\
model: models/sd15
output: out/age.safetensors
train_method: xattn
checkpoint_every: 50
prompts:
  target: a person
  positive: an old person
  negative: a young person
  preserve: [male, female]
training:
  steps: 200
  eta: 2.0
""")
    job = config_files.load_job(text)
    assert job.train_method == "xattn" and job.text.steps == 200 and job.text.eta == 2.0
    assert job.prompts[0].preserve == ["male", "female"] and job.checkpoint_every == 50
    typo = write(tmp_path, "typo.yaml", "model: m\noutput: o.safetensors\nprompts:\n  target: a\n  positive: b\n"
                                        "  negative: c\ntraining:\n  learning_rat: 0.001\n")
    with pytest.raises(errors.SliderConfigError, match="did you mean 'learning_rate'"):
        config_files.load_job(typo)
    pairs = write(tmp_path, "pairs.yaml", "model: m\noutput: o.safetensors\npairs:\n  folder: imgs\n"
                                          "  folders: [low, high]\n  scales: [-1, 1]\ntraining:\n  steps: 5\n")
    job = config_files.load_job(pairs)
    assert job.pairs.folder == tmp_path / "imgs" and job.pair_config.steps == 5
