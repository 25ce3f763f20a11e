"""Reading and writing slider files.

Written: `.safetensors` in the kohya convention (ComfyUI's LoraLoader, A1111/Forge and LoRA managers read it)
with kohya `ss_*` and `modelspec.*` metadata plus our `concept_slider.*` keys. Read: our files, kohya files,
peft/diffusers `lora_A`/`lora_B` files, ComfyUI's SaveLoRA output, and the reference implementation's `.pt`
files (loaded with `weights_only=True`: a file that needs pickle is refused, never executed).
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from ..errors import SliderFormatError
from ..model.architectures import architecture, from_foreign_metadata
from ..model.delta_sizes import check_representable
from ..model.keys import is_text_encoder_key, parse_lora_key
from ..model.slider import LowRankDelta, Slider, SliderMetadata, check_factor_shapes
from .atomic import write_atomically
from .declared_sizes import check_safetensors_sizes, check_torch_zip_sizes

PICKLE_SUFFIXES = (".pt", ".ckpt", ".pth", ".bin")
SLIDER_SUFFIXES = (".safetensors", *PICKLE_SUFFIXES)

_OURS = "concept_slider."


def slider_to_state_dict(slider: Slider, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """Kohya tensors: `<stem>.lora_down.weight`, `<stem>.lora_up.weight`, `<stem>.alpha` (fp32 scalar)."""
    tensors: dict[str, torch.Tensor] = {}
    for stem, delta in slider.deltas.items():
        down, up = (delta.down, delta.up) if dtype is None else (delta.down.to(dtype), delta.up.to(dtype))
        tensors[f"{stem}.lora_down.weight"] = down.detach().cpu().contiguous()
        tensors[f"{stem}.lora_up.weight"] = up.detach().cpu().contiguous()
        tensors[f"{stem}.alpha"] = torch.tensor(float(delta.alpha), dtype=torch.float32)
    return tensors


def slider_file_metadata(slider: Slider) -> dict[str, str]:
    meta = slider.metadata
    rank = slider.rank
    alpha = slider.alpha
    out = {
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(rank),
        "ss_network_alpha": f"{alpha:g}",
        "ss_v2": str(meta.architecture is not None and architecture(meta.architecture).family == "sd2"),
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.title": meta.title or slider.name,
        "modelspec.implementation": "https://github.com/Stability-AI/generative-models",
    }
    if slider.has_conv:
        out["ss_network_args"] = json.dumps({"conv_dim": str(rank), "conv_alpha": f"{alpha:g}"})
    if meta.architecture is not None:
        arch = architecture(meta.architecture)
        out["ss_base_model_version"] = arch.kohya_base_version
        out["modelspec.architecture"] = arch.modelspec
        out["modelspec.prediction_type"] = arch.prediction
    ours = {
        "architecture": meta.architecture or "",
        "title": meta.title,
        "train_method": meta.train_method,
        "target": meta.target,
        "positive": meta.positive,
        "negative": meta.negative,
        "preserve": json.dumps(meta.preserve),
        "guidance": "" if meta.guidance is None else repr(meta.guidance),
        "strength_range": json.dumps(list(meta.strength_range)),
        "recommended_start": repr(meta.recommended_start),
        "extra": json.dumps(meta.extra, sort_keys=True),
    }
    out.update({_OURS + key: value for key, value in ours.items()})
    return out


def save_slider(slider: Slider, path: str | os.PathLike[str], dtype: torch.dtype | None = None) -> Path:
    """Write atomically: a crash or a full disk leaves either the old file or none, never half of one."""
    target = Path(path)
    if target.suffix != ".safetensors":
        raise SliderFormatError(f"{target.name}: sliders are written as .safetensors only")
    write_atomically(target, lambda temp_name: safetensors.torch.save_file(
        slider_to_state_dict(slider, dtype), temp_name, metadata=slider_file_metadata(slider)))
    return target


def load_slider(path: str | os.PathLike[str], name: str | None = None) -> Slider:
    source = Path(path)
    label = name or source.stem
    if not source.is_file():
        raise SliderFormatError(f"slider file not found: {source}")
    suffix = source.suffix.lower()
    if suffix == ".safetensors":
        tensors, metadata = _read_safetensors(source)
    elif suffix in PICKLE_SUFFIXES:
        tensors, metadata = _read_pickle_checkpoint(source), {}
    else:
        raise SliderFormatError(f"{source.name}: unsupported extension {suffix!r}; use one of {', '.join(SLIDER_SUFFIXES)}")
    try:
        return slider_from_state_dict(tensors, metadata, label)
    except SliderFormatError as error:
        raise SliderFormatError(f"{source.name}: {error}") from None


def _read_safetensors(source: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    check_safetensors_sizes(source)
    try:
        with safetensors.safe_open(str(source), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as error:  # safetensors raises several private types for corrupt headers
        raise SliderFormatError(f"{source.name}: not a readable safetensors file ({error})") from None
    return tensors, metadata


def _read_pickle_checkpoint(source: Path) -> dict[str, torch.Tensor]:
    check_torch_zip_sizes(source)
    try:
        loaded = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as error:
        raise SliderFormatError(
            f"{source.name}: refused to load: it is not a plain tensor checkpoint ({type(error).__name__}). "
            "Files that need pickle to load can run code; convert it to .safetensors with a tool you trust."
        ) from None
    if isinstance(loaded, dict) and "state_dict" in loaded and isinstance(loaded["state_dict"], dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise SliderFormatError(f"{source.name}: expected a dict of tensors")
    unnamed = [key for key in loaded if not isinstance(key, str)]
    if unnamed:
        raise SliderFormatError(f"{source.name}: key {unnamed[0]!r} is a {type(unnamed[0]).__name__}, not a tensor "
                                "name; a slider's keys are module names such as 'lora_unet_<module>.lora_down.weight'")
    return loaded


FACTOR_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.float8_e4m3fn, torch.float8_e5m2,
                 torch.float8_e4m3fnuz, torch.float8_e5m2fnuz)
"""Signed floating-point types a LoRA factor can be stored in (fp8 ones are read as they are; hosts upcast them)."""


def slider_from_state_dict(tensors: dict[str, torch.Tensor], metadata: dict[str, str], name: str) -> Slider:
    """Group tensors by module stem whatever the dialect; alpha comes from the file (absent → alpha = rank).

    Two tensors that land on the same factor of the same module (a file holding each module in two dialects,
    kohya and peft names) are an error naming both: reading one and dropping the other silently would apply
    whichever came last."""
    parts: dict[str, dict[str, torch.Tensor]] = defaultdict(dict)
    sources: dict[tuple[str, str], str] = {}
    text_encoder_keys = 0
    for key, tensor in tensors.items():
        parsed = parse_lora_key(key)
        if parsed is None:
            text_encoder_keys += is_text_encoder_key(key)
            continue
        first = sources.setdefault((parsed.stem, parsed.role), key)
        if first != key:
            raise SliderFormatError(
                f"{first!r} and {key!r} are both the {parsed.role} of module {parsed.stem}: the file holds this module "
                "twice (in two key dialects), so it would be applied twice or one copy would silently win; keep one "
                "of them")
        parts[parsed.stem][parsed.role] = tensor
    if not parts:
        if text_encoder_keys:
            raise SliderFormatError("this is a text-encoder-only LoRA; a concept slider must modify the UNet")
        raise SliderFormatError("no LoRA weights found (expected keys like lora_unet_*.lora_down.weight)")
    deltas: dict[str, LowRankDelta] = {}
    for stem, factors in sorted(parts.items()):
        if "down" not in factors or "up" not in factors:
            missing = "lora_down" if "down" not in factors else "lora_up"
            raise SliderFormatError(f"module {stem} has no {missing} weight")
        down, up = factors["down"], factors["up"]
        for role, tensor in (("lora_down", down), ("lora_up", up)):
            if tensor.dtype not in FACTOR_DTYPES:
                raise SliderFormatError(
                    f"{stem}.{role} has dtype {tensor.dtype}; expected a signed floating-point type (fp32, fp16, bf16 "
                    "or fp8 e4m3/e5m2)" + (": float8_e8m0fnu has no sign bit, so it cannot hold a LoRA factor"
                                           if tensor.dtype == torch.float8_e8m0fnu else ""))
            if not all_finite(tensor):
                raise SliderFormatError(f"{stem}.{role} contains NaN or Inf values")
        try:
            check_factor_shapes(tuple(down.shape), tuple(up.shape))
        except SliderFormatError as error:
            raise SliderFormatError(f"module {stem}: {error}") from None
        deltas[stem] = LowRankDelta(down=down, up=up, alpha=_alpha(stem, factors.get("alpha"), down.shape[0]))
        check_representable(stem, deltas[stem])
    return Slider(deltas=deltas, metadata=metadata_from_file(metadata), name=name)


def all_finite(tensor: torch.Tensor, chunk: int = 1 << 20) -> bool:
    """No NaN or ±inf, checked a chunk at a time: a whole-tensor `isfinite` would allocate a mask as large as the
    tensor's element count on top of it (and fp8 has no `isfinite` of its own). A chunk's temporaries (its fp32
    copy, `isfinite`'s intermediates) are a few MiB at 2^20 elements; at 2^22 the allocator kept enough of them
    to lift a 128 MiB file's peak 34–66 MiB above its content, at the edge of declared_sizes' 64 MiB bound (2^20:
    9–17 MiB)."""
    flat = tensor.reshape(-1)
    return all(bool(torch.isfinite(part.float()).all()) for part in flat.split(chunk))


def _alpha(stem: str, tensor: torch.Tensor | None, rank: int) -> float:
    """The file's alpha (absent → alpha = rank, i.e. scale 1, as ComfyUI and kohya read such files)."""
    if tensor is None:
        return float(rank)
    if tensor.numel() != 1:
        raise SliderFormatError(f"{stem}.alpha must be a single number, got shape {tuple(tensor.shape)}")
    value = float(tensor.float().item())
    if not value > 0 or value == float("inf"):
        raise SliderFormatError(f"{stem}.alpha is {value}; it must be a positive finite number")
    return value


def metadata_from_file(raw: dict[str, str]) -> SliderMetadata:
    """Our keys when present; otherwise what kohya/modelspec say; otherwise defaults."""
    ours = {key[len(_OURS):]: value for key, value in raw.items() if key.startswith(_OURS)}
    arch_id = ours.get("architecture") or from_foreign_metadata(raw.get("ss_base_model_version", ""),
                                                                 raw.get("modelspec.architecture", ""))
    if not ours:
        return SliderMetadata(architecture=arch_id, title=raw.get("modelspec.title", ""), source_format="foreign")
    try:
        return SliderMetadata(
            architecture=arch_id,
            title=ours.get("title", ""),
            train_method=ours.get("train_method", ""),
            target=ours.get("target", ""),
            positive=ours.get("positive", ""),
            negative=ours.get("negative", ""),
            preserve=list(json.loads(ours.get("preserve", "[]"))),
            guidance=float(ours["guidance"]) if ours.get("guidance") else None,
            strength_range=tuple(float(v) for v in json.loads(ours.get("strength_range", "[-3, 3]"))),  # type: ignore[arg-type]
            recommended_start=float(ours.get("recommended_start", "0")),
            extra=dict(json.loads(ours.get("extra", "{}"))),
        )
    except (ValueError, TypeError) as error:
        raise SliderFormatError(f"malformed concept_slider metadata: {error}") from None
