"""Names users give saved files: numbered so nothing is replaced, refused when they would leave the folder."""
from __future__ import annotations

import os

import pytest

from slider_core import errors
from slider_core.io.names import numbered_path


def test_saving_twice_takes_the_next_number(tmp_path):
    folder = os.path.realpath(tmp_path)
    first = numbered_path(folder, "sub/age")
    assert first == os.path.join(folder, "sub", "age_00001.safetensors")
    os.makedirs(os.path.dirname(first))
    open(first, "w").close()
    assert numbered_path(folder, "sub/age").endswith("age_00002.safetensors")


@pytest.mark.parametrize("prefix", ["../up", "/etc/passwd", "a/../../b", "CON", "nul.txt", "bad\x00name", "a\\b"])
@pytest.mark.bad_input("unsafe save name")
def test_names_that_escape_or_name_a_device_are_refused(tmp_path, prefix):
    with pytest.raises(errors.SliderConfigError, match="not allowed|escapes"):
        numbered_path(os.path.realpath(tmp_path), prefix)


@pytest.mark.parametrize(("prefix", "culprit"), [
    ("a" * 300, "a" * 24),
    ("x" * 250, "x" * 24),
    ("é" * 130, "é" * 24),
    ("faces/" + "b" * 256 + "/age", "b" * 24),
    ("/".join(["c" * 200] * 25 + ["age"]), None),
])
@pytest.mark.bad_input("overlong save prefix")
def test_a_prefix_too_long_for_the_file_system_is_refused_with_the_fix(tmp_path, prefix, culprit):
    """Not `OSError: File name too long` from the OS after the slider was converted for writing."""
    match = f"'{culprit}'….*shorten it" if culprit else "longer than the 4096 bytes.*shorter subfolders"
    with pytest.raises(errors.SliderConfigError, match=match):
        numbered_path(os.path.realpath(tmp_path), prefix)
    assert list(tmp_path.iterdir()) == []


def test_the_longest_allowed_prefix_still_saves(tmp_path):
    path = numbered_path(os.path.realpath(tmp_path), "a" * (255 - len("_00001.safetensors")))
    open(path, "w").close()
    assert os.path.isfile(path)
