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
