"""Files that are either complete or absent: a crash, a cancel or a full disk never leaves half of one."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(target: Path, write: Callable[[str], None]) -> None:
    """`write` fills a temporary file beside `target`, which then replaces it in one rename: a crash, a cancel or
    a full disk leaves either the old file or none, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        write(temp_name)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
