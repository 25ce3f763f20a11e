"""Names the node classes share with the graph: the slider's socket type and the node categories."""
from __future__ import annotations

SLIDER_TYPE = "CONCEPT_SLIDER"
CATEGORY = "concept_sliders"
TRAIN_CATEGORY = "concept_sliders/train"
TESTING_CATEGORY = "concept_sliders/_for_testing"
SEED_MAX = 0xFFFFFFFFFFFFFFFF  # the host's seed widgets' range
