"""Shared by both tiers (unit: no ComfyUI; host: inside a real ComfyUI): the hardening tally line."""
from __future__ import annotations

import collections
from typing import Any

import pytest

# Hardening tally: tests marked `bad_input(kind)` try bad inputs of that kind (one per parametrized case, or
# `request.node.bad_inputs_tried` of them); the session ends with one line counting those that were handled.
_handled: collections.Counter[str] = collections.Counter()
_failed: collections.Counter[str] = collections.Counter()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("bad_input")
    if marker is None or report.when != "call":
        return
    tally = _handled if report.passed else _failed
    tally[marker.args[0]] += getattr(item, "bad_inputs_tried", 1)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _handled and not _failed:
        return
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(_handled.items()))
    line = (f"hardening: {sum(_handled.values())} bad inputs of {len(_handled)} kinds tried, each refused with a "
            f"clear error or harmless ({kinds})")
    if _failed:
        line += f"; NOT handled: {dict(_failed)}"
    terminalreporter.write_line(line)
