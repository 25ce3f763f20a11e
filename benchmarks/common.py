"""Shared by the benchmarks: the real host (the tests' harness), peak memory, the device, one line per figure."""
from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.host import Host


def boot() -> Host:
    return Host()


def peak_training_bytes(run: Callable[[], Any]) -> float:
    """Peak live tensor bytes allocated by `run` above what was live when it started: CUDA's own statistic on a
    GPU. On the CPU there is no allocator statistic, and process RSS measures glibc's arenas, not tensors (it rises
    and falls with iteration counts and the machine's other jobs), so torch.profiler records every allocation and
    the peak of its running total of live bytes is taken: the CPU equivalent of max_memory_allocated."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
        start = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        run()
        return torch.cuda.max_memory_allocated() - start
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        run()
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "trace.json"
        profiler.export_chrome_trace(str(trace))
        events = [event["args"] for event in json.loads(trace.read_text())["traceEvents"]
                  if event.get("name") == "[memory]" and event["args"].get("Device Type") == 0]
    start = events[0]["Total Allocated"] - events[0]["Bytes"]
    return max(event["Total Allocated"] for event in events) - start


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def report(name: str, ours: float, baseline: float, unit: str) -> None:
    """One line per figure: name, ours, baseline, ratio (ours / baseline)."""
    print(f"{name}, ours {ours:.4g} {unit}, baseline {baseline:.4g} {unit}, ratio {ours / baseline:.3f}", flush=True)


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
