#!/usr/bin/env bash
# The README's main job: set up (idempotent), then train and sweep a slider in the toy world, headless.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
exec "${CONCEPT_SLIDERS_VENV:-$root/.venv}/bin/python" "$root/scripts/demo.py" "$@"
