"""ComfyUI adapters: thin node classes over slider_core; `host.py` is the one module that knows ComfyUI."""
