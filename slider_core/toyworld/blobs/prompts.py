"""The blob world's sliders and prompt checks, as data the scripts and tests share (the shapes world's twin).

Slider words go through the preservation concepts' `{}` (slider_core/training/prompts.py), so every prompt is a caption
the world was trained on. Size and colour are entangled in the training data (scenes.entangle_size_and_colour),
so the size slider preserves the colours and the colour slider the sizes.
"""
from __future__ import annotations

from . import scenes

TARGET = "a blob"  # what every slider acts on, and the neutral prompt sweeps are sampled with

# measured attribute → Train Slider From Prompts' target/positive/negative/preserve (positive raises the measure)
SLIDERS: dict[str, dict[str, str]] = {
    "size": dict(target=TARGET, positive="large", negative="small",
                 preserve="\n".join(f"a {{}} {colour} blob" for colour in scenes.COLOURS)),
    "x": dict(target=TARGET, positive="on the right", negative="on the left", preserve="a blob {}"),
    "red": dict(target=TARGET, positive="red", negative="blue",
                preserve="\n".join(f"a {size} {{}} blob" for size in scenes.SIZE_WORDS)),
    "brightness": dict(target=TARGET, positive="bright", negative="dim", preserve="a {} blob"),
}

# (attribute, low prompt, high prompt): the pole pairs scripts/check_toyworld.py holds the base model to
CHECK_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("size", "a small blob", "a large blob"),
    ("red", "a blue blob", "a red blob"),
    ("x", "a blob on the left", "a blob on the right"),
    ("brightness", "a dim blob", "a bright blob"),
)
SPREAD_PROMPTS = ("", TARGET)  # must cover the whole world
SPREAD_ATTRIBUTES = ("size", "x", "brightness")
# attributes a pole pair may drag along by design: the entangled colours, and the colour shares among themselves
ENTANGLED = {"size": ("red", "green", "blue"), "red": ("size", "green", "blue")}
# The preservation check: (slider, the attributes its training data drags along, the preserve template that names
# neither, so the slider trains without preservation); its SLIDERS entry is the preserved twin.
PRESERVATION_CHECK = ("size", ("red", "green", "blue"), "a {} blob")
