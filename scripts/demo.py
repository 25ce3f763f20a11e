"""The toy-world demo: train a size slider inside the real ComfyUI host (headless, CPU) and sweep it.

Runs workflows/api/toyworld_size_slider.json (the API twin of workflows/toyworld_size_slider.json) through
the host's own executor: Toy World Loader → Train Slider From Prompts ("a blob": "a small blob" ↔ "a large
blob", preserving the colours) → Save Concept Slider, and Slider Sweep (−3…3, 4 seeds) → Toy World Decode →
Slider Sweep Grid → Save Image, plus Toy World Measure → CSV. Writes into --out (default ./output/demo).

    bash scripts/demo.sh [--steps N] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from harness.host import PACK_ROOT as ROOT
from harness.host import Host

WORKFLOW = ROOT / "workflows" / "api" / "toyworld_size_slider.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "output" / "demo")
    parser.add_argument("--steps", type=int, help="training steps (default: the workflow's)")
    args = parser.parse_args()
    started = time.perf_counter()
    host = Host()
    print(f"ComfyUI host: {host.path}", flush=True)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    host.folder_paths.set_output_directory(str(out))
    host.folder_paths.folder_names_and_paths["concept_sliders"] = ([str(out / "sliders")], {".safetensors"})
    prompt = json.loads(WORKFLOW.read_text())
    if args.steps:
        prompt["2"]["inputs"]["steps"] = args.steps
    install_progress_printer()
    outputs = host.run_graph(prompt)
    grid = out / outputs["9"]["images"][0]["subfolder"] / outputs["9"]["images"][0]["filename"]
    summary, csv_path = outputs["10"]["text"]
    slider_path = outputs["3"]["text"][0]
    shutil.copy(grid, out / "size_sweep.png")
    shutil.copy(csv_path, out / "size_sweep.csv")
    print(f"\nslider:  {slider_path}\ngrid:    {out / 'size_sweep.png'}\nmeasure: {out / 'size_sweep.csv'}\n")
    print(summary)
    print(f"\ndone in {time.perf_counter() - started:.0f} s")


def install_progress_printer() -> None:
    """The host's ProgressBar hook, printed on the terminal instead of a web page."""
    import comfy.utils

    def hook(value: int, total: int, preview: object = None, node_id: object = None) -> None:
        if value == total or value % max(1, total // 10) == 0:
            print(f"  progress {value}/{total}", flush=True)

    comfy.utils.set_progress_bar_global_hook(hook)


if __name__ == "__main__":
    main()
