"""Debian's headless Chromium driving ComfyUI's web page through its own `app` object, as a user's clicks would.

Chromium and chromedriver come from the Debian packages `chromium` and `chromium-driver` (scripts/setup.sh
installs them); Selenium is pointed at both binaries so Selenium Manager never downloads a browser. The page
calls used here (`app.loadGraphData`, `app.graphToPrompt`, `app.queuePrompt`, `app.canvas`, `LiteGraph`) exist in
the 2024 page bundled with the host and in the current comfyui-frontend-package.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--window-size=1600,1000")
# A dialog the page shows: the 2024 page's modals, the 2025 page's PrimeVue dialogs, and the error overlay that
# frontend 1.49 (ComfyUI 0.33) shows instead of a dialog for missing nodes, models or media.
VISIBLE_DIALOGS = """
return [...document.querySelectorAll('.comfy-modal, .p-dialog, [data-testid="error-overlay"]')]
  .filter(element => getComputedStyle(element).display !== 'none' && getComputedStyle(element).visibility !== 'hidden')
  .map(element => element.innerText.trim());
"""
# Zoom and pan the canvas so the whole graph is in view (node outputs are drawn only for nodes on screen).
FIT_GRAPH = """
const nodes = app.graph._nodes, canvas = app.canvas;
const x0 = Math.min(...nodes.map(n => n.pos[0])), y0 = Math.min(...nodes.map(n => n.pos[1] - 30));
const x1 = Math.max(...nodes.map(n => n.pos[0] + n.size[0])), y1 = Math.max(...nodes.map(n => n.pos[1] + n.size[1]));
const scale = Math.min(canvas.canvas.width / (x1 - x0 + 40), canvas.canvas.height / (y1 - y0 + 40), 1);
canvas.ds.scale = scale;
canvas.ds.offset = [20 / scale - x0, 20 / scale - y0];
canvas.setDirty(true, true);
"""
SET_WIDGETS = """
const [changes, missing] = [arguments[0], []];
for (const node of app.graph._nodes) {
  for (const [name, value] of Object.entries(changes[node.type] || {})) {
    const widget = (node.widgets || []).find(w => w.name === name);
    if (widget) { widget.value = value; } else { missing.push(node.type + '.' + name); }
  }
}
return missing;
"""
NODE_IMAGES = """
const node = app.graph.getNodeById(arguments[0]);
return (node && node.imgs || []).map(img => ({src: img.src, complete: img.complete,
                                              width: img.naturalWidth, height: img.naturalHeight}));
"""
# The template browser of frontend 1.49 (ComfyUI 0.33): a dialog whose side bar lists each pack that ships
# workflows under its folder name, and whose main pane shows one card (an <h3> title) per workflow.
TEMPLATE_GROUP = ("[...document.querySelectorAll('[role=\"dialog\"] nav [role=\"button\"]')]"
                  ".find(element => element.innerText.trim() === arguments[0])")
TEMPLATE_CARDS = """
return [...document.querySelectorAll('[role="dialog"] h3')].filter(element => !element.closest('nav'))
  .map(element => element.innerText.trim());
"""


def missing_browser() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not binary.is_file() and shutil.which(binary.name) is None:
            return f"{binary} not found: install the Debian package {package!r} (scripts/setup.sh does)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install -r scripts/requirements-test.txt"
    return None


class ComfyPage:
    """One Chromium window on one ComfyUI server's page."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        options.binary_location = str(CHROMIUM if CHROMIUM.is_file() else shutil.which("chromium"))
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        driver_path = CHROMEDRIVER if CHROMEDRIVER.is_file() else shutil.which("chromedriver")
        self.driver = webdriver.Chrome(service=Service(str(driver_path)), options=options)
        self.driver.set_page_load_timeout(timeout)
        self.driver.set_script_timeout(timeout)
        self.driver.get(url)
        # Ready once the node types are registered and the start-up graph is shown (loading a workflow earlier
        # could be overwritten by it).
        self.wait_for("!!(window.app && app.graph && window.LiteGraph && LiteGraph.registered_node_types"
                      " && LiteGraph.registered_node_types.ConceptSlidersSweep && app.graph._nodes.length)",
                      timeout, "the page to load")

    def close(self) -> None:
        self.driver.quit()

    def script(self, code: str, *args: Any) -> Any:
        return self.driver.execute_script(code, *args)

    def await_script(self, code: str, *args: Any) -> Any:
        """Run `code` as the body of an async function; a rejected promise comes back as an error."""
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"(async () => {{ {code} }})().then(value => done({{value}}), error => done({{error: String(error)}}));",
            *args,
        )
        if "error" in result:
            raise RuntimeError(f"page script failed: {result['error']}")
        return result.get("value")

    def wait_for(self, condition: str, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.script(f"return {condition};"):
                return
            time.sleep(0.25)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")

    def registered_node_types(self) -> set[str]:
        return set(self.script("return Object.keys(LiteGraph.registered_node_types);"))

    def load_workflow(self, workflow: dict[str, Any]) -> None:
        """What opening a workflow file does: the page's own loader, then a frame for dialogs to open."""
        self.await_script("await app.loadGraphData(arguments[0]);", workflow)
        self.await_script("await new Promise(resolve => setTimeout(resolve, 500));")

    def visible_dialogs(self) -> list[str]:
        return self.script(VISIBLE_DIALOGS)

    def close_dialogs(self) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        self.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        self.script("document.querySelectorAll('.comfy-modal').forEach(element => element.style.display = 'none');")
        # Escape leaves frontend 1.49's error overlay open; its own close button dismisses it.
        self.script("document.querySelectorAll('[data-testid=\"error-overlay\"] button[aria-label=\"Close\"]')"
                    ".forEach(button => button.click());")

    def console_errors(self) -> list[str]:
        """The page's JavaScript errors since the last call (a node the page failed to build logs one)."""
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"
                and entry.get("source") != "network"]

    def graph_as_prompt(self) -> dict[str, Any]:
        """The API prompt the page would queue for the loaded graph."""
        return self.await_script("return (await app.graphToPrompt()).output;")

    def set_widgets(self, changes: dict[str, dict[str, Any]]) -> list[str]:
        """Set widget values by node type and widget name, as typing into them would; returns the ones not found."""
        return self.script(SET_WIDGETS, changes)

    def queue(self) -> dict[str, Any]:
        """Queue the graph as the Queue button does; returns the page's record of validation errors."""
        self.await_script("await app.queuePrompt(0, 1);")
        return self.script("return app.lastNodeErrors || {};")

    def template_browser_cards(self, group: str, timeout: float = 30.0) -> list[str]:
        """Open the page's template browser as its Templates button does, pick `group` in its side bar and return
        the titles of the cards then shown (the browser stays open, so a card can be clicked)."""
        self.await_script("await app.extensionManager.command.execute('Comfy.BrowseTemplates');")
        deadline = time.monotonic() + timeout
        while not self.script(f"return !!{TEMPLATE_GROUP};", group):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the template browser did not list {group!r} within {timeout:.0f} s")
            time.sleep(0.25)
        self.script(f"{TEMPLATE_GROUP}.click();", group)
        self.await_script("await new Promise(resolve => setTimeout(resolve, 500));")
        return self.script(TEMPLATE_CARDS)

    def open_template_card(self, title: str, timeout: float = 30.0) -> None:
        """Click the template browser's card of that title, as a user opening the workflow would."""
        self.script("[...document.querySelectorAll('[role=\"dialog\"] h3')]"
                    ".find(element => element.innerText.trim() === arguments[0]).click();", title)
        self.wait_for("!document.querySelector('[role=\"dialog\"] nav')", timeout, "the template browser to close")

    def graph_node_types(self) -> list[str]:
        return self.script("return app.graph._nodes.map(node => node.type);")

    def fit_graph(self) -> None:
        self.script(FIT_GRAPH)

    def node_images(self, node_id: int) -> list[dict[str, Any]]:
        """The images drawn on a node (what the user sees under Save Image), loaded from the server."""
        return self.script(NODE_IMAGES, node_id)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path
