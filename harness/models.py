"""Denoisers built through the host's own classes with seeded random weights: tiny ones for tests, SD1.5-size
ones for benchmarks, and the calls a sampler would make on them."""
from __future__ import annotations

from typing import Any

import torch

from slider_core.toyworld.model import seeded_init

TINY_SD1_UNET = {
    "use_checkpoint": False, "image_size": 32, "in_channels": 4, "out_channels": 4, "model_channels": 32,
    "num_res_blocks": [1, 1], "channel_mult": [1, 2], "transformer_depth": [1, 1], "transformer_depth_output": [1, 1, 1, 1],
    "transformer_depth_middle": 1, "use_linear_in_transformer": False, "context_dim": 32, "adm_in_channels": None,
    "use_spatial_transformer": True, "legacy": False, "use_temporal_attention": False, "use_temporal_resblock": False,
}
TINY_SDXL_UNET = {
    **TINY_SD1_UNET, "model_channels": 64, "use_linear_in_transformer": True, "context_dim": 48,
    "adm_in_channels": 2816, "num_classes": "sequential",
}  # SDXL forces 64 channels per attention head, hence 64 model channels


def tiny_model(kind: str = "sd1", seed: int = 0) -> Any:
    """A ~1M-parameter SD1.x- or SDXL-layout denoiser built through the host's own classes, in a ModelPatcher."""
    import comfy.model_base
    import comfy.model_management
    import comfy.model_patcher
    import comfy.supported_models

    if kind == "sd1":
        config = comfy.supported_models.SD15(dict(TINY_SD1_UNET))
        model = comfy.model_base.BaseModel(config, device=torch.device("cpu"))
    elif kind == "sdxl":
        config = comfy.supported_models.SDXL(dict(TINY_SDXL_UNET))
        model = comfy.model_base.SDXL(config, device=torch.device("cpu"))
    else:
        raise ValueError(kind)
    seeded_init(model, seed)
    model.eval()
    device = torch.device("cpu")
    return comfy.model_patcher.ModelPatcher(model, load_device=device, offload_device=device)


def conditioning_for(patcher: Any, batch: int = 1, seed: int = 1) -> dict[str, torch.Tensor]:
    """Random cross-attention context (and SDXL's pooled/size vector) shaped for the model."""
    generator = torch.Generator().manual_seed(seed)
    unet_config = patcher.model.model_config.unet_config
    context = torch.randn(batch, 8, unet_config["context_dim"], generator=generator)
    extra: dict[str, torch.Tensor] = {"c_crossattn": context}
    if unet_config.get("adm_in_channels"):
        extra["y"] = torch.randn(batch, unet_config["adm_in_channels"], generator=generator)
    return extra


def denoise(patcher: Any, seed: int = 0, sigma: float = 2.0, batch: int = 2) -> torch.Tensor:
    """One denoiser call as a sampler step makes it: patches loaded, then the patcher's model_function_wrapper
    (if any) called with the same arguments the host's samplers pass it."""
    import comfy.model_management

    comfy.model_management.load_models_gpu([patcher])
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 4, 16, 16, generator=generator) * sigma
    sigmas = torch.full((batch,), sigma)
    conditioning = conditioning_for(patcher, batch)
    wrapper = patcher.model_options.get("model_function_wrapper")
    with torch.no_grad():
        if wrapper is None:
            return patcher.model.apply_model(x, sigmas, **conditioning)
        args = {"input": x, "timestep": sigmas, "c": conditioning, "cond_or_uncond": [0] * batch}
        return wrapper(patcher.model.apply_model, args)


SD15_UNET = {
    "use_checkpoint": False, "image_size": 32, "out_channels": 4, "use_spatial_transformer": True, "legacy": False,
    "adm_in_channels": None, "in_channels": 4, "model_channels": 320, "num_res_blocks": [2, 2, 2, 2],
    "transformer_depth": [1, 1, 1, 1, 1, 1, 0, 0], "channel_mult": [1, 2, 4, 4], "transformer_depth_middle": 1,
    "use_linear_in_transformer": False, "context_dim": 768, "num_heads": 8,
    "transformer_depth_output": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    "use_temporal_resblock": False, "use_temporal_attention": False,
}


def sd15_model(seed: int = 0) -> Any:
    """SD1.5's UNet (860M parameters) built from its config by the host's classes, random weights."""
    import comfy.model_base
    import comfy.model_management
    import comfy.model_patcher
    import comfy.supported_models

    config = comfy.supported_models.SD15(dict(SD15_UNET))
    base = comfy.model_base.BaseModel(config, device=comfy.model_management.unet_offload_device())
    seeded_init(base, seed)
    base.eval()
    return comfy.model_patcher.ModelPatcher(base, load_device=comfy.model_management.get_torch_device(),
                                            offload_device=comfy.model_management.unet_offload_device())


def write_sd15_checkpoint(path: str, seed: int = 0) -> None:
    """A full-size SD1.5 checkpoint with random weights, as one `.safetensors` the host's CheckpointLoaderSimple
    reads: UNet (fp16, so the file is ~2.5 GB rather than ~4 GB), CLIP-L and the SD VAE, each built by the host's own
    classes and written by its own save_checkpoint. Built at test time, never committed."""
    import comfy.model_base
    import comfy.model_management
    import comfy.model_patcher
    import comfy.sd
    import comfy.supported_models

    cpu = torch.device("cpu")
    config = comfy.supported_models.SD15(dict(SD15_UNET))
    config.set_inference_dtype(torch.float16, None)
    base = comfy.model_base.BaseModel(config, device=cpu)
    seeded_init(base, seed)
    patcher = comfy.model_patcher.ModelPatcher(base, load_device=cpu, offload_device=cpu)
    with torch.no_grad():  # the host's CLIP fills its text projection in place, which it does under inference
        clip = comfy.sd.CLIP(target=config.clip_target())
    seeded_init(clip.cond_stage_model, seed + 1)
    # The host picks the SD VAE's layout from which keys a state dict has: one 4x down-sampling key (the SD layout,
    # not the x4 upscaler's) and the decoder's input conv (its latent channels). seeded_init fills every weight.
    vae = comfy.sd.VAE(sd={"encoder.down.2.downsample.conv.weight": torch.zeros(512, 512, 3, 3),
                           "decoder.conv_in.weight": torch.zeros(512, 4, 3, 3)})
    seeded_init(vae.first_stage_model, seed + 2)
    comfy.sd.save_checkpoint(path, patcher, clip, vae)
    del patcher, base, clip, vae
    comfy.model_management.soft_empty_cache()
