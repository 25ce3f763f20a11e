"""One vocabulary per concept: choices with the nearest-name hint, precisions, the architecture registry, seeds."""
from __future__ import annotations

import pytest
import torch

from slider_core import errors
from slider_core.choices import check_choice, check_keys
from slider_core.model.architectures import ARCHITECTURES, architecture_of_host_config, from_foreign_metadata
from slider_core.precision import canonical_precision, storage_dtype
from slider_core.seeds import SEED_RANGE, fold_seed


@pytest.mark.bad_input("bad training setting")
def test_a_misspelt_choice_names_the_nearest_one_and_all_of_them():
    assert check_choice("trajectory", "pool", ("renoise", "pool")) == "pool"
    with pytest.raises(errors.SliderConfigError, match=r"cfg\.yaml: unknown trajectory 'renoize'; did you mean "
                                                       r"'renoise'\? \(choose one of renoise, pool\)"):
        check_choice("trajectory", "renoize", ("renoise", "pool"), "cfg.yaml")


@pytest.mark.bad_input("bad training setting")
def test_unknown_keys_are_refused_with_the_closest_known_key():
    check_keys({"steps": 1}, {"steps", "seed"}, "training")
    with pytest.raises(errors.SliderConfigError, match="training: unknown key 'stpes'; did you mean 'steps'"):
        check_keys({"stpes": 1}, {"steps", "seed"}, "training")


def test_precision_aliases_map_to_one_name_and_dtype():
    assert canonical_precision("bfloat16") == "bf16" and canonical_precision("fp32") == "fp32"
    assert storage_dtype("float16") is torch.float16
    with pytest.raises(errors.SliderConfigError, match="did you mean 'fp16'"):
        canonical_precision("fp61")


def test_every_architecture_is_recognised_back_from_the_metadata_it_writes():
    for arch in ARCHITECTURES.values():
        assert from_foreign_metadata(arch.kohya_base_version, "") == arch.id
        assert from_foreign_metadata("", arch.modelspec) == arch.id
    assert from_foreign_metadata("sdxl_something_new", "") == "sdxl"
    assert from_foreign_metadata("", "") is None


def test_host_model_configs_map_to_architectures_and_sd2_splits_by_prediction():
    assert architecture_of_host_config("SD15", False).id == "sd1"
    assert architecture_of_host_config("SD20", True).id == "sd2-v"
    assert architecture_of_host_config("SSD1B", False).id == "sdxl"
    assert architecture_of_host_config("StableCascade_C", False) is None


def test_any_seed_a_widget_allows_folds_into_the_generators_range():
    assert fold_seed(7) == 7 and fold_seed(2**64 - 1) == 2**64 - 1 - SEED_RANGE
    torch.Generator().manual_seed(fold_seed(2**64 - 1))
