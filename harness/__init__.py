"""What tests, benchmarks and scripts share: a real ComfyUI host booted in-process with the pack loaded through
its own loader (host.py), denoisers built through the host's classes (models.py), test sliders (sliders.py),
the toy-world experiments behind the semantic tests and benchmarks (experiments.py), any world's text sliders at
the node defaults (world_sliders.py) and hostile slider files for the hardening tests (bad_files.py).

Installed into the dev venv by scripts/setup.sh (`pip install -e .`: only `harness` and `slider_core` become
importable, never the pack's `nodes`, which would shadow ComfyUI's own `nodes` module)."""
