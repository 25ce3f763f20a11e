"""Toy World Measure: the toy world's attributes read back from a sweep, as a table and a CSV file."""
from __future__ import annotations

import csv
import io
import os
from typing import Any

import folder_paths
import torch

from ..slider_core.evaluation import sweep_effect
from ..slider_core.toyworld import metrics
from .slider_nodes import numbered_path
from .sweep import parse_strengths


class ToyWorldMeasure:
    DESCRIPTION = (
        "Measures size, position, colour shares and brightness of every toy-world latent in a Slider Sweep's "
        "output, writes them to a CSV in the output folder (one row per image) and returns a summary table: "
        "per attribute, Spearman ρ against strength and the change from lowest to highest strength in units of "
        "the attribute's spread across seeds."
    )
    CATEGORY = "concept_sliders/_for_testing"
    FUNCTION = "measure"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("summary",)
    OUTPUT_TOOLTIPS = ("Per-attribute ρ, change and effect size of the sweep.",)

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {
            "samples": ("LATENT", {"tooltip": "Toy-world latents from Slider Sweep (rows × strengths, row-major)."}),
            "strengths": ("STRING", {"default": "-3, -1.5, 0, 1.5, 3",
                                     "tooltip": "The sweep's strengths output (link Slider Sweep's strengths)."}),
            "filename_prefix": ("STRING", {"default": "concept_sliders/toyworld_sweep",
                                           "tooltip": "CSV name inside the output folder."}),
        }}

    def measure(self, samples: dict[str, torch.Tensor], strengths: str, filename_prefix: str) -> dict[str, Any]:
        values = parse_strengths(strengths)
        latents = samples["samples"]
        table = sweep_table(latents, values)
        path = numbered_path(os.path.realpath(folder_paths.get_output_directory()), filename_prefix, ".csv")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            handle.write(table_csv(table, values))
        summary = summarise(table, values)
        return {"ui": {"text": [summary, path]}, "result": (summary,)}


def sweep_table(latents: torch.Tensor, strengths: list[float]) -> dict[str, torch.Tensor]:
    """attribute → (strengths, rows) tensor, from row-major (row = seed, column = strength) latents."""
    columns = len(strengths)
    if latents.shape[0] % columns:
        raise ValueError(f"{latents.shape[0]} latents cannot be split into {columns} strengths")
    measured = metrics.measure(latents)
    return {name: value.reshape(-1, columns).T for name, value in measured.items()}


def table_csv(table: dict[str, torch.Tensor], strengths: list[float]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    names = list(table)
    writer.writerow(["strength", "seed_row", *names])
    rows = next(iter(table.values())).shape[1]
    for column, strength in enumerate(strengths):
        for row in range(rows):
            writer.writerow([f"{strength:g}", row, *(f"{table[name][column, row].item():.5f}" for name in names)])
    return out.getvalue()


def summarise(table: dict[str, torch.Tensor], strengths: list[float]) -> str:
    lines = [f"{'attribute':<11} {'rho':>6} {'change':>9} {'effect':>7}   mean per strength"]
    for name, values in table.items():
        effect = sweep_effect(strengths, values)
        means = " ".join(f"{v:.3f}" for v in values.mean(dim=1).tolist())
        lines.append(f"{name:<11} {effect.rho:>+6.2f} {effect.change:>+9.4f} {effect.effect:>7.2f}   {means}")
    return "\n".join(lines)
