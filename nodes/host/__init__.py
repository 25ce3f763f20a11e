"""The only code of the pack that imports ComfyUI (comfy, folder_paths, server, nodes).

Node classes call these small functions with stable names; each difference between the host generations the
pack supports (the 2024 snapshot and current ComfyUI) is absorbed by a named function in shims.py.
"""
