"""Tiny diffusion transformers of every flow-matching family the pack supports, built through the newest host's
own classes (comfy.supported_models.<Family>(config).get_model), with seeded weights and random conditioning of
the shapes the family's text encoder produces. Only ComfyUI 0.3x has these families; the 2024 host has none."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class TextShape:
    """What the family's text encoder node hands the sampler, shrunk: cross-attention width and tokens, and the
    extras (pooled vector, FLUX guidance, LLM attention mask)."""

    context_dim: int
    tokens: int = 12
    pooled_dim: int | None = None
    guidance: float | None = None
    attention_mask: bool = False


@dataclass(frozen=True)
class TinyFamily:
    config: str
    """comfy.supported_models class."""
    unet: dict[str, Any]
    text: TextShape


_FLUX = dict(image_model="flux", in_channels=16, out_channels=16, hidden_size=32, mlp_ratio=4.0, num_heads=2, depth=1,
             depth_single_blocks=1, axes_dim=[4, 6, 6], theta=10000, patch_size=2, qkv_bias=True, txt_ids_dims=[],
             yak_mlp=False, txt_norm=False, context_in_dim=40, vec_in_dim=24)
_FLUX2 = dict(image_model="flux2", in_channels=128, out_channels=128, hidden_size=32, mlp_ratio=3.0, num_heads=2,
              depth=1, depth_single_blocks=1, axes_dim=[4, 4, 4, 4], theta=2000, patch_size=1, qkv_bias=False,
              ops_bias=False, global_modulation=True, mlp_silu_act=True, default_ref_method="index",
              ref_index_scale=10.0, txt_ids_dims=[3], yak_mlp=False, txt_norm=False, context_in_dim=48,
              vec_in_dim=None)
_LUMINA = dict(image_model="lumina2", patch_size=2, in_channels=16, dim=64, cap_feat_dim=48, n_layers=1,
               n_refiner_layers=1, n_heads=2, n_kv_heads=2, qk_norm=True, axes_dims=[8, 12, 12])
_SD3 = dict(in_channels=16, out_channels=16, patch_size=2, depth=2, input_size=None, adm_in_channels=32,
            context_embedder_config={"target": "torch.nn.Linear", "params": {"in_features": 48, "out_features": 128}},
            num_patches=256, pos_embed_max_size=16, pos_embed_scaling_factor=None, x_block_self_attn_layers=[])

FAMILIES: dict[str, TinyFamily] = {
    "flux1-dev": TinyFamily("Flux", {**_FLUX, "guidance_embed": True}, TextShape(40, pooled_dim=24, guidance=3.5)),
    "flux1-schnell": TinyFamily("FluxSchnell", {**_FLUX, "guidance_embed": False}, TextShape(40, pooled_dim=24)),
    "flux2": TinyFamily("Flux2", {**_FLUX2, "guidance_embed": True},
                        TextShape(48, guidance=4.0, attention_mask=True)),
    "qwen-image": TinyFamily("QwenImage", dict(image_model="qwen_image", in_channels=64, out_channels=16,
                                               num_layers=2, attention_head_dim=16, num_attention_heads=2,
                                               joint_attention_dim=48, axes_dims_rope=(4, 6, 6), patch_size=2),
                             TextShape(48, attention_mask=True)),
    # ZImage is told apart from Lumina2 by its real width only, so the tiny one is built from its class directly;
    # its adaLN input is min(dim, 256) while the time embedding is always 256 wide, hence dim 256.
    "z-image": TinyFamily("ZImage", {**_LUMINA, "dim": 256, "axes_dims": [32, 48, 48], "axes_lens": [1536, 512, 512],
                                     "rope_theta": 256.0, "ffn_dim_multiplier": 0.5, "multiple_of": 16,
                                     "z_image_modulation": True, "time_scale": 1000.0, "pad_tokens_multiple": 32},
                          TextShape(48, attention_mask=True)),
    "sd3": TinyFamily("SD3", dict(_SD3), TextShape(48, tokens=20, pooled_dim=32)),
    "chroma": TinyFamily("Chroma", dict(image_model="chroma", in_channels=64, out_channels=64, context_in_dim=40,
                                        hidden_size=32, mlp_ratio=4.0, num_heads=2, depth=1, depth_single_blocks=1,
                                        axes_dim=[4, 6, 6], theta=10000, patch_size=2, qkv_bias=True, in_dim=64,
                                        out_dim=32, hidden_dim=32, n_layers=1, txt_ids_dims=[], vec_in_dim=None),
                         TextShape(40)),
}


def seeded_init(module: torch.nn.Module, seed: int) -> None:
    """Torch's default init for every layer from one seed (host layers skip it), then a seeded small normal for
    the raw parameters and buffers the host leaves empty (pad tokens, positional tables)."""
    classes = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Embedding,
               torch.nn.LayerNorm, torch.nn.GroupNorm, torch.nn.RMSNorm)
    covered: set[int] = set()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for layer in module.modules():
            torch_class = next((c for c in classes if isinstance(layer, c)), None)
            if torch_class is not None:
                torch_class.reset_parameters(layer)
                covered.update(id(p) for p in layer.parameters(recurse=False))
        generator = torch.Generator().manual_seed(seed + 1)
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            if id(tensor) in covered or not tensor.is_floating_point() or not tensor.numel() or "sigmas" in name:
                continue
            tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.02)


def tiny_dit(family: str, seed: int = 0, weight_dtype: torch.dtype | None = None, **sizes: Any) -> Any:
    """The family's ModelPatcher on the CPU. `weight_dtype` (e.g. torch.float8_e4m3fn) stores the weights in that
    dtype and computes in fp32 through the host's casting layers, as its UNETLoader does for an fp8 checkpoint:
    the weights are made in fp32 and loaded into it, like a checkpoint. `sizes` override config entries (wider,
    deeper models for benchmarks)."""
    import comfy.model_patcher
    import comfy.supported_models

    spec = FAMILIES[family]

    def made(dtype: torch.dtype | None) -> Any:
        config = getattr(comfy.supported_models, spec.config)({**spec.unet, **sizes})
        config.set_inference_dtype(dtype or torch.float32, torch.float32 if dtype not in (None, torch.float32)
                                   else None)
        return config.get_model({}, "", device=torch.device("cpu"))

    model = made(None)
    seeded_init(model, seed)
    if weight_dtype not in (None, torch.float32):
        stored = made(weight_dtype)
        stored.diffusion_model.load_state_dict(model.diffusion_model.state_dict())
        model = stored
    model.eval()
    cpu = torch.device("cpu")
    return comfy.model_patcher.ModelPatcher(model, load_device=cpu, offload_device=cpu)


def random_conditioning(family: str, seed: int = 1, tokens: int | None = None) -> list:
    """A CONDITIONING as the family's encoder node makes it, [[cross_attn (1, L, C), {extras}]], random."""
    shape = FAMILIES[family].text
    generator = torch.Generator().manual_seed(seed)
    length = tokens or shape.tokens
    extras: dict[str, Any] = {"pooled_output": None}
    cross_attn = torch.randn(1, length, shape.context_dim, generator=generator)
    if shape.pooled_dim:
        extras["pooled_output"] = torch.randn(1, shape.pooled_dim, generator=generator)
    if shape.guidance is not None:
        extras["guidance"] = shape.guidance
    if shape.attention_mask:
        extras["attention_mask"] = torch.ones(1, length, dtype=torch.long)
    return [[cross_attn, extras]]


def tiny_flux_clip(seed: int = 0) -> Any:
    """A real FLUX text encoder (CLIP-L + T5, the host's own classes and tokenizers) shrunk to the tiny FLUX.1's
    widths: CLIP-L pooled 24 = vec_in_dim, T5 d_model 40 = context_in_dim."""
    import comfy.sd
    import comfy.supported_models_base
    import comfy.text_encoders.flux

    cpu = torch.device("cpu")
    options = {"dtype": torch.float32, "load_device": cpu, "offload_device": cpu, "initial_device": cpu,
               "clip_l_model_config": {"hidden_size": 24, "intermediate_size": 48, "num_hidden_layers": 1,
                                       "num_attention_heads": 2, "projection_dim": 24},
               "t5xxl_model_config": {"d_model": 40, "d_ff": 64, "num_layers": 1, "num_heads": 2, "d_kv": 20}}
    target = comfy.supported_models_base.ClipTarget(comfy.text_encoders.flux.FluxTokenizer,
                                                    comfy.text_encoders.flux.flux_clip())
    clip = comfy.sd.CLIP(target=target, model_options=options)
    seeded_init(clip.cond_stage_model, seed)
    return clip
