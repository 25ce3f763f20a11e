#!/usr/bin/env bash
# The README's test command: set up (idempotent) then run the whole suite against a real ComfyUI host.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
exec "${CONCEPT_SLIDERS_VENV:-$root/.venv}/bin/python" -m pytest "$@"
