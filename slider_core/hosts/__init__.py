"""Hosts other than ComfyUI that implement the Denoiser contract (diffusers, for scripts and the CLI)."""
