"""The terminal side of a CLI run: a progress bar with the loss, and Ctrl-C that stops after the current step."""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any


class StopRequestedError(Exception):
    """Raised between steps after Ctrl-C: the loop unwinds, nothing is written."""


@contextlib.contextmanager
def stop_on_ctrl_c(progress: Progress) -> Iterator[None]:
    """First Ctrl-C: ask the loop to stop after the current step. Second: the default (stop at once)."""
    if _in_main_thread():
        def request(signum: int, frame: Any) -> None:
            progress.stop_requested = True
            progress.note("stopping after this step (Ctrl-C again to stop now)")
            signal.signal(signal.SIGINT, signal.default_int_handler)

        previous = signal.signal(signal.SIGINT, request)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
    else:
        yield


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class Progress:
    """A tqdm bar with the loss; raises StopRequestedError after the step in which Ctrl-C arrived."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.stop_requested = False

    def step(self, step: int, total: int, loss: float) -> None:
        if self.enabled:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, initial=step - 1, unit="step", dynamic_ncols=True)
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.5f}", refresh=False)
        if self.stop_requested:
            raise StopRequestedError(f"stopped after step {step}")

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
