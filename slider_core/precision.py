"""One vocabulary for numeric precision, for files written and for the model passes of training."""
from __future__ import annotations

import contextlib

import torch

from .choices import check_choice

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
ALIASES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}
STORAGE_PRECISIONS = ("fp16", "bf16", "fp32")
# "auto" runs the model in the dtype its host loaded it in (no autocast); the slider's weights are fp32 regardless.
COMPUTE_PRECISIONS = ("auto", "bf16", "fp16")


def canonical_precision(name: object, allowed: tuple[str, ...] = tuple(DTYPES), what: str = "precision",
                        where: str = "") -> str:
    """'fp32' / 'bf16' / 'fp16' (or 'auto' where allowed) for any accepted spelling ('float16' → 'fp16')."""
    text = str(name)
    return check_choice(what, ALIASES.get(text, text), allowed, where)


def storage_dtype(name: str, where: str = "") -> torch.dtype:
    return DTYPES[canonical_precision(name, STORAGE_PRECISIONS, "storage precision", where)]


def compute_autocast(name: str, device: torch.device) -> contextlib.AbstractContextManager[None]:
    """Autocast for bf16/fp16 model passes; none for fp32 and auto."""
    precision = canonical_precision(name, (*DTYPES, "auto"), "compute precision")
    if precision in ("auto", "fp32"):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision])
