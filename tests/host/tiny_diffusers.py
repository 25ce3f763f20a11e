"""Tiny Stable Diffusion pipelines built from configs with seeded random weights and saved to a local folder
(nothing is downloaded: the CLIP tokenizer is built from the vocab/merges files the ComfyUI host ships).

The SD1.x UNet has the layout of tests/host.py's TINY_SD1_UNET, so its weights can be moved into the real host's
own model class (through the host's diffusers↔original name map) for cross-host comparisons.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

TINY_SD1_DIFFUSERS_UNET = {
    "sample_size": 32, "in_channels": 4, "out_channels": 4, "layers_per_block": 1, "block_out_channels": (32, 64),
    "down_block_types": ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    "cross_attention_dim": 32, "attention_head_dim": 8, "norm_num_groups": 32,
}
TINY_SDXL_DIFFUSERS_UNET = {
    "sample_size": 32, "in_channels": 4, "out_channels": 4, "layers_per_block": 2, "block_out_channels": (32, 64),
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"), "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
    "cross_attention_dim": 64, "attention_head_dim": (1, 1), "norm_num_groups": 32, "use_linear_projection": True,
    "addition_embed_type": "text_time", "addition_time_embed_dim": 8, "projection_class_embeddings_input_dim": 80,
    "transformer_layers_per_block": (1, 1),
}  # one head of 64 channels: the original SDXL UNet's fixed head width, so the host can hold the same weights
TINY_SDXL_ORIGINAL_UNET = {
    "use_checkpoint": False, "image_size": 32, "in_channels": 4, "out_channels": 4, "model_channels": 32,
    "num_res_blocks": [2, 2], "channel_mult": [1, 2], "transformer_depth": [0, 0, 1, 1],
    "transformer_depth_output": [0, 0, 0, 1, 1, 1], "transformer_depth_middle": 1, "use_linear_in_transformer": True,
    "context_dim": 64, "adm_in_channels": 80, "num_classes": "sequential", "use_spatial_transformer": True,
    "legacy": False, "use_temporal_attention": False, "use_temporal_resblock": False,
}  # the same layout in the original (ldm) UNet's terms


def tokenizer(comfy_path: Path) -> Any:
    from transformers import CLIPTokenizer

    folder = comfy_path / "comfy" / "sd1_tokenizer"
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


def _text_config(hidden: int, projection: int) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(vocab_size=49408, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
                          num_attention_heads=4, max_position_embeddings=77, projection_dim=projection,
                          bos_token_id=49406, eos_token_id=49407, pad_token_id=49407)


def _vae() -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8, 8, 8),
                         down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                         layers_per_block=1, norm_num_groups=8, sample_size=64, scaling_factor=0.18215)


def _scheduler(prediction: str) -> Any:
    from diffusers import DDIMScheduler

    return DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                         clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type=prediction)


def build_sd1(folder: Path, comfy_path: Path, seed: int = 0, prediction: str = "epsilon") -> Path:
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    pipeline = StableDiffusionPipeline(
        vae=_vae(), text_encoder=CLIPTextModel(_text_config(32, 32)), tokenizer=tokenizer(comfy_path),
        unet=UNet2DConditionModel(**TINY_SD1_DIFFUSERS_UNET), scheduler=_scheduler(prediction),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipeline.save_pretrained(str(folder))
    return folder


def build_sdxl(folder: Path, comfy_path: Path, seed: int = 0) -> Path:
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    text_tokenizer = tokenizer(comfy_path)
    pipeline = StableDiffusionXLPipeline(
        vae=_vae(), text_encoder=CLIPTextModel(_text_config(32, 32)),
        text_encoder_2=CLIPTextModelWithProjection(_text_config(32, 32)), tokenizer=text_tokenizer,
        tokenizer_2=text_tokenizer, unet=UNet2DConditionModel(**TINY_SDXL_DIFFUSERS_UNET),
        scheduler=_scheduler("epsilon"),
    )
    pipeline.save_pretrained(str(folder))
    return folder
