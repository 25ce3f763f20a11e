"""Seeds as the host hands them out (ComfyUI's widgets go up to 2**64 − 1) folded into the range every random
generator the pack seeds accepts, so any seed a user can type trains the same slider each time."""
from __future__ import annotations

SEED_RANGE = 2**63


def fold_seed(seed: int) -> int:
    return int(seed) % SEED_RANGE
