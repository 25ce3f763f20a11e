"""The command line trainer: the core's loops on a diffusers model, for scripts and batch jobs.

    python -m slider_core train --config config.yaml [--prompts prompts.yaml]              text slider
    python -m slider_core train --config config.yaml --folder-main pairs --folders low,high --scales=-1,1

Exit status: 0 trained and saved; 2 a configuration or file problem (the message names it); 130 stopped by
Ctrl-C. Ctrl-C finishes the current step and stops without writing the slider (a second one stops at once);
periodic checkpoints (`save.per_steps` / `checkpoint_every`) are complete files, and `--resume` continues from
one (adaptors, AdamW moments, random generator; the renoise latents are regenerated on resume, so a resumed run
repeats an uninterrupted one exactly only with refresh_every 1). Under torchrun (`torchrun --nproc_per_node N
-m slider_core train ...`) or `accelerate launch`, every process trains on its own noise and gradients are
averaged through torch.distributed; rank 0 shows progress and writes the files.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..data.pair_folders import PairFolders
from ..errors import SliderError
from ..io.slider_files import save_slider
from ..model.slider import SliderMetadata
from ..precision import compute_autocast, storage_dtype
from ..strengths import parse_strengths
from ..training.distributed import DistributedSession
from ..training.metadata import pair_slider_metadata, text_slider_metadata
from ..training.pair_loop import train_pair_slider
from ..training.run import TrainResult
from ..training.sessions import CheckpointingSession, TrainingSession
from ..training.text_loop import entry_texts, train_text_slider
from .job_files import Job, load_job
from .progress import Progress, StopRequestedError, stop_on_ctrl_c

EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m slider_core", description="Train Concept Sliders outside ComfyUI.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train one slider from a config file")
    train.add_argument("--config", type=Path, required=True,
                       help="our YAML schema, or the reference implementation's config.yaml")
    train.add_argument("--prompts", type=Path, help="the reference's prompts YAML (overrides its prompts_file)")
    train.add_argument("--folder-main", "--folder_main", dest="folder_main", type=Path,
                       help="image-pair slider: the folder holding one sub-folder per scale")
    train.add_argument("--folders", help="image-pair slider: sub-folder names, comma-separated (e.g. 'low,high')")
    train.add_argument("--scales", help="image-pair slider: one strength per folder, comma-separated; write --scales=-1,1 when "
                            "the list starts with a minus sign")
    train.add_argument("--model-config", type=Path,
                       help="single-file checkpoints: a local diffusers folder of the same model family whose configs "
                            "(and tokenizer) describe it; nothing is downloaded")
    train.add_argument("--resume", type=Path, help="continue from a checkpoint written by an earlier run")
    train.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        job = load_job(args.config, args.prompts, _pair_arguments(args))
        if args.model_config is not None:
            job = dataclasses.replace(job, model_config=args.model_config)
        return run(job, args)
    except SliderError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG


def _pair_arguments(args: argparse.Namespace) -> PairFolders | None:
    given = [value is not None for value in (args.folder_main, args.folders, args.scales)]
    if not any(given):
        return None
    if not all(given):
        raise SliderError("an image-pair slider needs all of --folder-main, --folders and --scales")
    strengths = parse_strengths(args.scales, "--scales", "-2,-1,1,2")
    return PairFolders(folder=args.folder_main, folders=[name.strip() for name in args.folders.split(",")],
                       strengths=strengths)


def run(job: Job, args: argparse.Namespace) -> int:
    from ..hosts import diffusers as diffusers_host

    rank, device = _process_placement(args.device)
    _quiet_diffusers()
    model = diffusers_host.load_model(job.model, device, job.model_config, job.v_prediction)
    if job.v2 is not None and job.v2 != model.architecture.startswith("sd2"):
        raise SliderError(f"the config says v2: {str(job.v2).lower()} but {job.model} is an {model.architecture} "
                          "model: fix pretrained_model.v2 (or the model path)")
    paths = diffusers_host.target_paths(model, job.train_method, job.include_conv)
    stems = diffusers_host.kohya_stems(model, paths)
    resolution = job.resolution or model.native_resolution
    checkpoint = job.output.with_name(job.output.stem + ".checkpoint.pt")
    session = _session(job, model.architecture, paths, checkpoint, args.resume, rank)
    progress = Progress(enabled=rank == 0 and not args.no_progress)
    units = diffusers_host.recompute_units(model)
    try:
        with stop_on_ctrl_c(progress), compute_autocast(job.precision, device):
            train = _train_text if job.text is not None else _train_pairs
            result = train(job, model, resolution, paths, stems, progress, units, session)
    except (StopRequestedError, KeyboardInterrupt):
        progress.close()
        if rank == 0:
            saved = getattr(session, "inner", session).last_saved
            resume = f"; resume from step {saved} with --resume {checkpoint}" if saved else ""
            print(f"stopped: no slider written{resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    progress.close()
    if rank == 0:
        slider = result.slider.export(_metadata(job, model.architecture, resolution), name=job.output.stem)
        save_slider(slider, job.output, storage_dtype(job.save_precision))
        print(f"saved {job.output} ({len(slider.deltas)} modules, {result.seconds:.1f} s, "
              f"final loss {_last(result):.5f})")
    return 0


def _session(job: Job, architecture: str, paths: list[str], checkpoint: Path, resume: Path | None,
             rank: int) -> TrainingSession:
    """Checkpoints and resume, wrapped for data parallelism when torch.distributed is up."""
    # what a checkpoint is only valid for; `steps` is left out so a resumed run may train longer
    trained = {key: value for key, value in dataclasses.asdict(job.text or job.pair_config).items() if key != "steps"}
    settings = {"model": str(job.model), "architecture": architecture, "modules": len(paths),
                "method": job.train_method, "conv": job.include_conv, "config": trained,
                "prompts": [dataclasses.asdict(entry) for entry in job.prompts],
                "pairs": dataclasses.asdict(job.pairs) if job.pairs is not None else None}
    session: TrainingSession = CheckpointingSession(checkpoint, job.checkpoint_every, settings, resume,
                                                    writer=rank == 0)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        session = DistributedSession(session, (job.text or job.pair_config).seed)
    return session


def _train_text(job: Job, model: Any, resolution: int, paths: list[str], stems: dict[str, str], progress: Progress,
                units: list[torch.nn.Module], session: TrainingSession) -> TrainResult:
    from ..hosts import diffusers as diffusers_host

    assert job.text is not None
    config = dataclasses.replace(job.text, latent_size=(resolution // 8, resolution // 8))
    denoiser = diffusers_host.DiffusersDenoiser(model, entry_texts(job.prompts), (resolution, resolution))
    return train_text_slider(denoiser, job.prompts, config, paths, stems, on_step=progress.step,
                             recompute_units=units, session=session)


def _train_pairs(job: Job, model: Any, resolution: int, paths: list[str], stems: dict[str, str], progress: Progress,
                 units: list[torch.nn.Module], session: TrainingSession) -> TrainResult:
    from ..data.pair_folders import read_pairs
    from ..hosts import diffusers as diffusers_host

    assert job.pairs is not None and job.pair_config is not None
    before, after, strengths = read_pairs(job.pairs, resolution, lambda images: diffusers_host.encode_images(model, images))
    frame = (8 * before.shape[-2], 8 * before.shape[-1])
    denoiser = diffusers_host.DiffusersDenoiser(model, [job.pairs.before_prompt, job.pairs.after_prompt], frame)
    return train_pair_slider(denoiser, before, after, job.pair_config, paths, stems, on_step=progress.step,
                             recompute_units=units, session=session, pair_strengths=strengths)


def _quiet_diffusers() -> None:
    """Our bar is the one progress display: diffusers' and transformers' loading bars and notices are muted."""
    import diffusers.utils.logging
    import transformers.utils.logging

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _process_placement(requested: str | None) -> tuple[int, torch.device]:
    """(rank, device). Under torchrun (WORLD_SIZE > 1) the process group is initialised here: NCCL on GPUs, one
    GPU per local rank; gloo on CPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available() and requested in (None, "cuda")
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if cuda else "gloo")
        if cuda:
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            return dist.get_rank(), torch.device("cuda", local)
        return dist.get_rank(), torch.device("cpu")
    if requested:
        return 0, torch.device(requested)
    return 0, torch.device("cuda" if cuda else "cpu")


def _metadata(job: Job, architecture: str, resolution: int) -> SliderMetadata:
    extra = {"trainer": "slider_core.cli (diffusers)", "model": job.model.name}
    if job.text is not None:
        return text_slider_metadata(architecture, job.output.stem, job.train_method, job.prompts[0], job.text,
                                    str(resolution), extra)
    assert job.pairs is not None and job.pair_config is not None
    return pair_slider_metadata(architecture, job.output.stem, job.train_method, job.pairs.before_prompt,
                                job.pairs.after_prompt, job.pair_config, job.pairs.strengths, str(resolution), extra)


def _last(result: TrainResult) -> float:
    return result.losses[-1] if result.losses else float("nan")
