"""ComfyUI workflow files: the UI format (what the web page saves and its template browser lists) and the API
format (what /prompt and the in-process executor run), converted through the node definitions.

Widget values in the UI format are positional: the widget inputs of INPUT_TYPES (required, then optional) in
order, a widget converted to an input keeping its slot, and seed widgets followed by their
"control after generate" value. Knowing that rule is all a faithful conversion needs.
"""
from __future__ import annotations

from typing import Any

WIDGET_TYPES = ("INT", "FLOAT", "STRING", "BOOLEAN")
SEED_NAMES = ("seed", "noise_seed")
NodeDefs = dict[str, dict[str, Any]]  # class_type -> INPUT_TYPES() result


def _inputs(definition: dict[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
    entries = []
    for section in ("required", "optional"):
        for name, spec in definition.get(section, {}).items():
            options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            entries.append((name, spec[0], options))
    return entries


def _is_widget(kind: Any, options: dict[str, Any]) -> bool:
    return (isinstance(kind, list) or kind in WIDGET_TYPES) and not options.get("forceInput", False)


def _has_seed_control(name: str, kind: Any, options: dict[str, Any]) -> bool:
    return kind == "INT" and (name in SEED_NAMES or bool(options.get("control_after_generate")))


def ui_to_api(workflow: dict[str, Any], node_defs: NodeDefs) -> dict[str, dict[str, Any]]:
    links = {link[0]: link for link in workflow["links"]}
    prompt: dict[str, dict[str, Any]] = {}
    for node in workflow["nodes"]:
        definition = node_defs[node["type"]]
        linked = {entry["name"]: entry["link"] for entry in node.get("inputs", []) if entry.get("link") is not None}
        values = list(node.get("widgets_values", []))
        inputs: dict[str, Any] = {}
        for name, kind, options in _inputs(definition):
            if _is_widget(kind, options):
                value = values.pop(0) if values else None
                if _has_seed_control(name, kind, options) and values:
                    values.pop(0)
                if name not in linked and value is not None:
                    inputs[name] = value
            if name in linked:
                link = links[linked[name]]
                inputs[name] = [str(link[1]), link[2]]
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return prompt


def api_to_ui(prompt: dict[str, dict[str, Any]], node_defs: NodeDefs,
              outputs: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    """`outputs` maps class_type → its (RETURN_NAMES, RETURN_TYPES) pairs. See `_layout` for node placement."""
    links: list[list[Any]] = []
    output_links: dict[tuple[str, int], list[int]] = {}
    nodes = []
    places = _layout(prompt, node_defs, outputs)
    for order, (node_id, node) in enumerate(sorted(prompt.items(), key=lambda item: int(item[0]))):
        definition = node_defs[node["class_type"]]
        inputs, widgets = [], []
        for name, kind, options in _inputs(definition):
            value = node["inputs"].get(name)
            is_link = isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)
            if _is_widget(kind, options):
                widgets.append(_default(kind, options) if is_link or value is None else value)
                if _has_seed_control(name, kind, options):
                    widgets.append("fixed")
            if is_link:
                link_id = len(links) + 1
                source, slot = value
                link_type = outputs[prompt[source]["class_type"]][slot][1]
                links.append([link_id, int(source), slot, int(node_id), len(inputs), link_type])
                output_links.setdefault((source, slot), []).append(link_id)
                entry: dict[str, Any] = {"name": name, "type": link_type, "link": link_id}
                if _is_widget(kind, options):
                    entry["widget"] = {"name": name}
                inputs.append(entry)
        nodes.append({
            "id": int(node_id), "type": node["class_type"], "pos": places[node_id][0], "size": places[node_id][1],
            "flags": {}, "order": order, "mode": 0, "inputs": inputs,
            "properties": {"Node name for S&R": node["class_type"]}, "widgets_values": widgets,
            "title": node.get("_meta", {}).get("title", node["class_type"]),
        })
    for node in nodes:
        node["outputs"] = [{"name": name, "type": kind, "links": output_links.get((str(node["id"]), slot), []),
                            "slot_index": slot} for slot, (name, kind) in enumerate(outputs[node["type"]])]
    return {"last_node_id": max(node["id"] for node in nodes), "last_link_id": len(links), "nodes": nodes,
            "links": links, "groups": [], "config": {}, "extra": {}, "version": 0.4}


NODE_WIDTH, COLUMN_GAP, ROW_GAP, MARGIN = 400, 60, 50, 40
TITLE_HEIGHT, SLOT_HEIGHT, WIDGET_HEIGHT, TEXT_BOX_HEIGHT, IMAGE_HEIGHT = 30, 22, 24, 110, 300
IMAGE_NODES = ("SaveImage", "PreviewImage")


def _layout(prompt: dict[str, dict[str, Any]], node_defs: NodeDefs,
            outputs: dict[str, list[tuple[str, str]]]) -> dict[str, tuple[list[int], list[int]]]:
    """node id → (pos, size): a column per graph depth (a node sits right of everything it reads), stacked in id
    order; heights estimated from slots and widgets, so the page opens with no node covering another (web pages
    only ever grow a node to fit its widgets)."""
    depth: dict[str, int] = {}

    def depth_of(node_id: str) -> int:
        if node_id not in depth:
            sources = [value[0] for value in prompt[node_id]["inputs"].values()
                       if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)]
            depth[node_id] = 1 + max(map(depth_of, sources), default=-1)
        return depth[node_id]

    places: dict[str, tuple[list[int], list[int]]] = {}
    column_bottom: dict[int, int] = {}
    for node_id in sorted(prompt, key=int):
        class_type = prompt[node_id]["class_type"]
        entries = _inputs(node_defs[class_type])
        widgets = sum(_is_widget(kind, options) for _, kind, options in entries)
        sockets = sum(not _is_widget(kind, options) for _, kind, options in entries)
        text_boxes = sum(kind == "STRING" and bool(options.get("multiline")) for _, kind, options in entries)
        height = (TITLE_HEIGHT + SLOT_HEIGHT * max(sockets, len(outputs[class_type])) + WIDGET_HEIGHT * widgets
                  + TEXT_BOX_HEIGHT * text_boxes + (IMAGE_HEIGHT if class_type in IMAGE_NODES else 0))
        column = depth_of(node_id)
        top = column_bottom.get(column, MARGIN)
        places[node_id] = ([MARGIN + column * (NODE_WIDTH + COLUMN_GAP), top], [NODE_WIDTH, height])
        column_bottom[column] = top + height + ROW_GAP
    return places


def _default(kind: Any, options: dict[str, Any]) -> Any:
    if "default" in options:
        return options["default"]
    if isinstance(kind, list):
        return kind[0] if kind else None
    return {"INT": 0, "FLOAT": 0.0, "STRING": "", "BOOLEAN": False}[kind]
