"""Shared set-up for the benchmarks: the real host (same harness as the tests) and full-size random UNets."""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from host import Host, seeded_init

SD15_UNET = {
    "use_checkpoint": False, "image_size": 32, "out_channels": 4, "use_spatial_transformer": True, "legacy": False,
    "adm_in_channels": None, "in_channels": 4, "model_channels": 320, "num_res_blocks": [2, 2, 2, 2],
    "transformer_depth": [1, 1, 1, 1, 1, 1, 0, 0], "channel_mult": [1, 2, 4, 4], "transformer_depth_middle": 1,
    "use_linear_in_transformer": False, "context_dim": 768, "num_heads": 8,
    "transformer_depth_output": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    "use_temporal_resblock": False, "use_temporal_attention": False,
}


def boot() -> Host:
    return Host()


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
