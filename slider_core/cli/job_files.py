"""Training jobs from YAML: the reference implementation's config + prompts files, and our own schema.

Both are read strictly: every key must be one the schema knows, and a misspelt one is an error that names the
file, the place and the closest known key (the reference silently ignores unknown keys, so `guidance: 4`
trains with η = 1). Values the reference accepts but this trainer cannot honour (another optimiser, an lr
schedule, wandb) are errors too, never quietly replaced.

Reference schema (rohitgandikota/sliders, trainscripts/*/config_util.py), and where each key goes:
    prompts_file                      → the prompts YAML (relative to the working directory, then to the config)
    pretrained_model.name_or_path     → model (a local diffusers folder or single file); v_pred → v-prediction
    network.type lierla|c3lier        → include_conv false|true;  rank, alpha, training_method
    train.iterations, lr, max_denoising_steps → steps, learning_rate, trajectory_steps; precision → autocast
    save.name, path, per_steps, precision     → output file, checkpoint interval, file dtype
Prompt entries: see SliderPrompts.from_reference; guidance_scale → η, resolution, batch_size.

Our schema: `model`, `train_method`, `include_conv`, `precision`, `resolution`, `output`, `save_precision`,
`checkpoint_every`, then either `prompts` (SliderPrompts fields, or a list of them) with `training`
(TextSliderConfig fields), or `pairs` (folder, folders, scales, before_prompt, after_prompt) with `training`
(PairSliderConfig fields).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..choices import check_choice, check_keys
from ..data.pair_folders import PairFolders
from ..errors import SliderConfigError
from ..model.module_selection import DEFAULT_INCLUDE_CONV, DEFAULT_TRAIN_METHOD, TRAIN_METHODS
from ..precision import canonical_precision
from ..training.configs import PairSliderConfig, TextSliderConfig, field_names
from ..training.prompts import REFERENCE_PROMPT_KEYS, SliderPrompts

_REFERENCE_TOP = {"prompts_file", "pretrained_model", "network", "train", "save", "logging", "other"}
_REFERENCE_SECTIONS: dict[str, set[str]] = {
    "pretrained_model": {"name_or_path", "v2", "v_pred", "clip_skip"},
    "network": {"type", "rank", "alpha", "training_method"},
    "train": {"precision", "noise_scheduler", "iterations", "lr", "optimizer", "optimizer_args", "lr_scheduler",
              "max_denoising_steps"},
    "save": {"name", "path", "per_steps", "precision"},
    "logging": {"use_wandb", "verbose"},
    "other": {"use_xformers"},
}
_OUR_TOP = {"model", "model_config", "prediction", "train_method", "include_conv", "precision", "resolution", "output",
            "save_precision", "checkpoint_every", "prompts", "pairs", "training"}
_OUR_PROMPT_KEYS = field_names(SliderPrompts)
_OUR_PAIR_KEYS = {"folder", "folders", "scales", "before_prompt", "after_prompt"}


@dataclass
class Job:
    """One slider to train: the model, what to adapt, and either text prompts or image pairs."""

    model: Path
    output: Path
    train_method: str = DEFAULT_TRAIN_METHOD
    include_conv: bool = DEFAULT_INCLUDE_CONV
    precision: str = "fp32"
    resolution: int = 0
    model_config: Path | None = None
    v_prediction: bool | None = None
    v2: bool | None = None  # the reference's claim that the model is SD2.x, checked against the loaded model
    save_precision: str = "fp32"
    checkpoint_every: int = 0
    prompts: list[SliderPrompts] = field(default_factory=list)
    text: TextSliderConfig | None = None
    pairs: PairFolders | None = None
    pair_config: PairSliderConfig | None = None

    def __post_init__(self) -> None:
        check_choice("train method", self.train_method, TRAIN_METHODS)
        if (self.text is None) == (self.pair_config is None):
            raise SliderConfigError("a job trains from prompts or from image pairs: give exactly one of them")
        if self.checkpoint_every < 0:
            raise SliderConfigError(f"checkpoint interval must be 0 (off) or positive, got {self.checkpoint_every}")


def load_job(config_path: Path, prompts_path: Path | None = None, pairs: PairFolders | None = None) -> Job:
    """Read a config file (reference or our schema, told apart by their top-level keys)."""
    raw = _read_yaml(config_path)
    if not isinstance(raw, Mapping):
        raise SliderConfigError(f"{config_path}: expected a mapping of settings at the top level")
    if "pretrained_model" in raw or "prompts_file" in raw:
        return _reference_job(raw, config_path, prompts_path, pairs)
    if prompts_path is not None:
        raise SliderConfigError(f"{config_path}: --prompts goes with the reference's config schema; in ours put the "
                                "prompts under 'prompts:'")
    return _our_job(raw, config_path, pairs)


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise SliderConfigError(f"file not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SliderConfigError(f"{path}: not valid YAML ({error})") from None


def _section(raw: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SliderConfigError(f"{where}: '{name}' must be a mapping of settings, got {type(value).__name__}")
    check_keys(value, _REFERENCE_SECTIONS[name], f"{where}: {name}")
    return dict(value)


def _precision(value: object, where: str) -> str:
    return canonical_precision(value, where=where)


def _reference_job(raw: Mapping[str, Any], path: Path, prompts_path: Path | None, pairs: PairFolders | None) -> Job:
    where = str(path)
    check_keys(raw, _REFERENCE_TOP, where)
    model = _section(raw, "pretrained_model", where)
    network = _section(raw, "network", where)
    train = _section(raw, "train", where)
    save = _section(raw, "save", where)
    logging_section = _section(raw, "logging", where)
    _section(raw, "other", where)  # use_xformers: diffusers picks its attention kernel itself
    if "name_or_path" not in model:
        raise SliderConfigError(f"{where}: pretrained_model.name_or_path is required (a local diffusers folder or file)")
    if model.get("clip_skip") is not None:
        raise SliderConfigError(f"{where}: pretrained_model.clip_skip is not supported; remove it")
    if logging_section.get("use_wandb"):
        raise SliderConfigError(f"{where}: logging.use_wandb is not supported (progress is shown on the terminal)")
    for key, allowed in (("optimizer", ("adamw",)), ("lr_scheduler", ("constant",)), ("optimizer_args", ("",))):
        value = str(train.get(key, allowed[0]))
        if value.lower() not in allowed:
            raise SliderConfigError(f"{where}: train.{key} {value!r} is not supported; this trainer uses AdamW with a "
                                    "constant learning rate (remove the key or set it to the default)")
    scheduler = str(train.get("noise_scheduler", "ddim"))
    schedulers = ("ddim", "ddpm", "lms", "euler_a")  # the rollout sampler; ours is DDIM-equivalent Euler for all
    check_choice("train.noise_scheduler", scheduler, schedulers, where)
    network_type = str(network.get("type", "lierla"))
    check_choice("network.type", network_type, ("lierla", "c3lier"), where)
    method = str(network.get("training_method", "full"))
    check_choice("train method", method, TRAIN_METHODS, f"{where}: network.training_method")
    common = {"rank": int(network.get("rank", 4)), "alpha": float(network.get("alpha", 1.0)),
              "steps": int(train.get("iterations", 500)), "learning_rate": float(train.get("lr", 1e-4))}
    prompts_file = prompts_path or _relative(raw.get("prompts_file"), path)
    if prompts_file is None:
        raise SliderConfigError(f"{where}: prompts_file is required (or pass --prompts)")
    raw_entries, settings = read_reference_prompts(prompts_file)
    job_values: dict[str, Any] = {
        "model": Path(str(model["name_or_path"])), "train_method": method, "include_conv": network_type == "c3lier",
        "precision": _precision(train.get("precision", "bfloat16"), f"{where}: train.precision"),
        "v_prediction": bool(model["v_pred"]) if "v_pred" in model else None,
        "v2": bool(model["v2"]) if "v2" in model else None,
        "output": Path(str(save.get("path", "./output"))) / f"{save.get('name', 'untitled')}.safetensors",
        "save_precision": _precision(save.get("precision", "float32"), f"{where}: save.precision"),
        "checkpoint_every": int(save.get("per_steps", 200)),
    }
    if pairs is not None:  # the image-slider script conditions 'before' on neutral and 'after' on positive
        first = raw_entries[0]
        target = str(first.get("target", ""))
        pairs.before_prompt = str(first.get("neutral", first.get("unconditional", "")))
        pairs.after_prompt = str(first.get("positive", target))
        config = PairSliderConfig(**common, batch_size=settings["batch_size"])
        return Job(**job_values, resolution=settings["resolution"], pairs=pairs, pair_config=config)
    entries = []
    for number, entry in enumerate(raw_entries, start=1):
        try:
            entries.append(SliderPrompts.from_reference(entry))
        except SliderConfigError as error:
            raise SliderConfigError(f"{prompts_file}: entry {number}: {error}") from None
    size = settings["resolution"] // 8
    config = TextSliderConfig(**common, eta=settings["eta"], batch_size=settings["batch_size"], latent_size=(size, size),
                         trajectory_steps=int(train.get("max_denoising_steps", 50)))
    return Job(**job_values, resolution=settings["resolution"], prompts=entries, text=config)


def _relative(value: object, config_path: Path) -> Path | None:
    if value is None:
        return None
    candidate = Path(str(value))
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return config_path.parent / candidate


def read_reference_prompts(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The reference's prompts YAML (a list of entries), keys checked, plus the per-run settings they carry,
    which must agree across entries (the reference reads them per entry; one run has one η and one size)."""
    raw = _read_yaml(path)
    if not isinstance(raw, list) or not raw:
        raise SliderConfigError(f"{path}: expected a non-empty list of prompt entries (- target: ...)")
    entries: list[dict[str, Any]] = []
    settings: dict[str, Any] = {}
    for number, entry in enumerate(raw, start=1):
        where = f"{path}: entry {number}"
        if not isinstance(entry, Mapping):
            raise SliderConfigError(f"{where}: expected a mapping (target: ..., positive: ...)")
        check_keys(entry, REFERENCE_PROMPT_KEYS, where)
        if entry.get("dynamic_resolution") or entry.get("dynamic_crops"):
            raise SliderConfigError(f"{where}: dynamic_resolution / dynamic_crops are not supported; set them to false")
        these = {"eta": float(entry.get("guidance_scale", 1.0)), "resolution": int(entry.get("resolution", 512)),
                 "batch_size": int(entry.get("batch_size", 1))}
        for key, value in these.items():
            if settings.setdefault(key, value) != value:
                raise SliderConfigError(f"{where}: {key} {value} differs from entry 1's {settings[key]}; one run has one")
        entries.append(dict(entry))
    return entries, settings


def _our_job(raw: Mapping[str, Any], path: Path, pairs: PairFolders | None) -> Job:
    where = str(path)
    check_keys(raw, _OUR_TOP, where)
    if "model" not in raw or "output" not in raw:
        raise SliderConfigError(f"{where}: 'model' (diffusers folder or file) and 'output' (.safetensors) are required")
    training = raw.get("training") or {}
    if not isinstance(training, Mapping):
        raise SliderConfigError(f"{where}: 'training' must be a mapping of settings")
    prediction = str(raw.get("prediction", "auto"))
    check_choice("prediction", prediction, ("auto", "epsilon", "v_prediction"), where)
    values: dict[str, Any] = {
        "model": Path(str(raw["model"])), "output": Path(str(raw["output"])),
        "train_method": str(raw.get("train_method", DEFAULT_TRAIN_METHOD)),
        "include_conv": bool(raw.get("include_conv", DEFAULT_INCLUDE_CONV)),
        "precision": _precision(raw.get("precision", "fp32"), f"{where}: precision"),
        "resolution": int(raw.get("resolution", 0)),
        "model_config": Path(str(raw["model_config"])) if raw.get("model_config") else None,
        "v_prediction": None if prediction == "auto" else prediction == "v_prediction",
        "save_precision": _precision(raw.get("save_precision", "fp32"), f"{where}: save_precision"),
        "checkpoint_every": int(raw.get("checkpoint_every", 0)),
    }
    if raw.get("pairs") is not None or pairs is not None:
        if raw.get("prompts") is not None:
            raise SliderConfigError(f"{where}: give 'prompts' (text slider) or 'pairs' (image slider), not both")
        pairs = pairs or _pairs(raw["pairs"], path)
        check_keys(training, field_names(PairSliderConfig), f"{where}: training")
        return Job(**values, pairs=pairs, pair_config=PairSliderConfig(**training))
    if raw.get("prompts") is None:
        raise SliderConfigError(f"{where}: give 'prompts' (target, positive, negative) or 'pairs' (image folders)")
    sets = raw["prompts"] if isinstance(raw["prompts"], list) else [raw["prompts"]]
    entries = []
    for number, entry in enumerate(sets, start=1):
        if not isinstance(entry, Mapping):
            raise SliderConfigError(f"{where}: prompts entry {number} must be a mapping (target, positive, negative)")
        check_keys(entry, _OUR_PROMPT_KEYS, f"{where}: prompts entry {number}")
        entries.append(SliderPrompts(**entry))
    # the training size is `resolution` (the model's own when 0), set by the trainer once the model is loaded
    check_keys(training, field_names(TextSliderConfig) - {"latent_size"}, f"{where}: training")
    return Job(**values, prompts=entries, text=TextSliderConfig(**training))


def _pairs(raw: object, path: Path) -> PairFolders:
    if not isinstance(raw, Mapping):
        raise SliderConfigError(f"{path}: 'pairs' must be a mapping (folder, folders, scales)")
    check_keys(raw, _OUR_PAIR_KEYS, f"{path}: pairs")
    folder = _relative(raw.get("folder"), path)
    if folder is None:
        raise SliderConfigError(f"{path}: pairs.folder is required")
    return PairFolders(folder=folder, folders=[str(name) for name in raw.get("folders", [])],
                       strengths=[float(value) for value in raw.get("scales", [])],
                       before_prompt=str(raw.get("before_prompt", "")), after_prompt=str(raw.get("after_prompt", "")))
