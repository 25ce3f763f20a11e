"""The real ComfyUI web server (`main.py --cpu`) with this pack installed, for tests that drive its web page.

It runs from a throwaway copy of the host's code (a few MB) whose custom_nodes/ holds only a link to this pack,
so models, outputs, user settings and the server's database all live in the test's temporary folder, never in the
host or the repository. The 2024 host has no --base-directory, which is why the code is copied rather than pointed
at. It listens on loopback only and runs in its own process group, which `stop` ends.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from harness.host import PACK_NAME, PACK_ROOT

# Host folders that hold data rather than the server's code, and so are not copied.
DATA_FOLDERS = {"models", "output", "input", "temp", "user", "custom_nodes", "tests", "tests-unit", "tests-ui",
                "script_examples", "notebooks", ".git", ".github", ".ci"}
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class ComfyServer:
    """One server process. `start` copies the host, links the pack and waits until the pack's nodes are served."""

    def __init__(self, host_path: Path, workdir: Path) -> None:
        self.host_path = host_path
        self.root = workdir / "comfyui"
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_file = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    def models_dir(self, folder_name: str) -> Path:
        return self.root / "models" / folder_name

    def prepare(self) -> None:
        """The host's code, empty data folders and custom_nodes/<pack> linking to this checkout."""
        shutil.copytree(self.host_path, self.root, ignore=_skip_data_folders(self.host_path))
        for folder in ("custom_nodes", "models", "output", "input"):
            (self.root / folder).mkdir(exist_ok=True)
        (self.root / "custom_nodes" / PACK_NAME).symlink_to(PACK_ROOT, target_is_directory=True)

    def start(self, timeout: float = 180.0) -> None:
        command = [sys.executable, "main.py", "--cpu", "--listen", LOOPBACK, "--port", str(self.port),
                   "--disable-auto-launch"]
        environment = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                                            env=environment, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.process.returncode} while starting:\n{self.log_tail()}")
            try:
                if "ConceptSlidersSweep" in self.get_json("/object_info/ConceptSlidersSweep"):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"ComfyUI did not serve the pack's nodes within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL if it has not gone after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.load(response)

    def post_json(self, path: str, body: Any) -> int:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status

    def log_tail(self, characters: int = 4000) -> str:
        return self.log_file.read_text(errors="replace")[-characters:] if self.log_file.exists() else ""


def _skip_data_folders(host_path: Path):
    top = str(host_path)

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {name for name in names if name == "__pycache__"}
        if folder == top:
            skipped |= DATA_FOLDERS.intersection(names)
        return skipped

    return ignore
