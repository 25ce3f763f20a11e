"""File names users choose for what the pack writes: refused when they could leave their folder or name a device,
numbered so that saving twice never replaces a file."""
from __future__ import annotations

import os
import re

from ..errors import SliderConfigError

_SAFE_PREFIX = re.compile(r"^[\w\-. ]+(/[\w\-. ]+)*$")
NAME_MAX = 255
"""Bytes in one file or folder name on ext4, APFS and NTFS (255 UTF-16 units there); longer fails in the OS."""
PATH_MAX = 4096
"""Bytes in a whole path on Linux."""
_RESERVED_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def numbered_path(folder: str, prefix: str, suffix: str = ".safetensors") -> str:
    """`<folder>/<prefix>_00001<suffix>`, the first free number; `folder` must be a real (resolved) path."""
    parts = prefix.split("/")
    if ("\x00" in prefix or not _SAFE_PREFIX.match(prefix) or any(part in ("..", ".") for part in parts)
            or any(part.split(".")[0].strip().lower() in _RESERVED_NAMES for part in parts)):
        raise SliderConfigError(
            f"file name prefix {prefix!r} is not allowed: use letters, digits, '-', '_', '.', spaces and '/' "
            "subfolders, without '..', an absolute path or a reserved device name (CON, NUL, COM1…)"
        )
    numbered = f"{parts[-1]}_00001{suffix}"
    longest = max([*parts[:-1], numbered], key=lambda part: len(part.encode()))
    if len(longest.encode()) > NAME_MAX:
        raise SliderConfigError(
            f"file name prefix {prefix[:40]!r}… makes a name of {len(longest.encode())} bytes "
            f"({longest[:24]!r}…), beyond the {NAME_MAX} a file system allows in one name; shorten it, or split it "
            "into subfolders with '/'")
    base = os.path.realpath(os.path.join(folder, prefix))
    if os.path.commonpath([base, folder]) != folder:
        raise SliderConfigError(f"file name prefix {prefix!r} escapes the folder {folder}")
    if len(f"{base}_00001{suffix}".encode()) > PATH_MAX:
        raise SliderConfigError(f"file name prefix {prefix[:40]!r}… makes a path longer than the {PATH_MAX} bytes a "
                                "file system allows; use fewer or shorter subfolders")
    counter = 1
    while os.path.exists(f"{base}_{counter:05d}{suffix}"):
        counter += 1
    return f"{base}_{counter:05d}{suffix}"
