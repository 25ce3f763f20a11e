"""Where sliders are read from and written to: the host's model folders and output folder."""
from __future__ import annotations

import os

import folder_paths

from ...slider_core.io.slider_files import SLIDER_SUFFIXES

SLIDER_FOLDER = "concept_sliders"
LORA_FOLDER = "loras"
LORA_CHOICE_PREFIX = "loras/"


def register_slider_folder() -> None:
    """A dedicated `models/concept_sliders` folder, so sliders do not drown among ordinary LoRAs."""
    if SLIDER_FOLDER not in folder_paths.folder_names_and_paths:
        folder = os.path.join(folder_paths.models_dir, SLIDER_FOLDER)
        folder_paths.folder_names_and_paths[SLIDER_FOLDER] = ([folder], set(SLIDER_SUFFIXES))


def slider_file_choices() -> list[str]:
    """Files of the sliders folder as-is, then the loras folder's under a `loras/` prefix."""
    ours = folder_paths.get_filename_list(SLIDER_FOLDER)
    loras = [LORA_CHOICE_PREFIX + name for name in folder_paths.get_filename_list(LORA_FOLDER)]
    return ours + loras


def resolve_slider_file(choice: str) -> str | None:
    path = folder_paths.get_full_path(SLIDER_FOLDER, choice)
    if path is None and choice.startswith(LORA_CHOICE_PREFIX):
        path = folder_paths.get_full_path(LORA_FOLDER, choice[len(LORA_CHOICE_PREFIX):])
    return path


def slider_output_folder() -> str:
    return os.path.realpath(folder_paths.get_folder_paths(SLIDER_FOLDER)[0])


def output_folder() -> str:
    """The host's output folder (Save Image's), where measurement tables go."""
    return os.path.realpath(folder_paths.get_output_directory())
