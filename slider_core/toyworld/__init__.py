"""Synthetic worlds whose attributes can be measured on generated latents: the demo and the semantic tests."""
