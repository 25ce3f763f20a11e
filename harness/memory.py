"""Peak resident memory of a block of code, for the tests that report or bound it (Linux: /proc/self)."""
from __future__ import annotations

import time
from pathlib import Path


def resident_bytes(field: str) -> int:
    """A size from /proc/self/status: VmRSS (resident now) or VmHWM (the peak since the last reset)."""
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith(field))


class PeakResidentMemory:
    """How far the process's resident size rose above its level at entry while the block ran, and how long the
    block took. The kernel's own high-water mark is reset at entry, so the peak is exact, not sampled."""

    def __enter__(self) -> PeakResidentMemory:
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak resident size (VmHWM) to the current one
        self.baseline = resident_bytes("VmRSS")
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self.above_baseline = resident_bytes("VmHWM") - self.baseline

    def line(self, label: str) -> str:
        return f"{label}: {self.seconds:.1f} s, peak resident memory +{self.above_baseline / 2**30:.2f} GiB"
