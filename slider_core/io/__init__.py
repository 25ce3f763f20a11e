"""Files: slider .safetensors (kohya keys + metadata) and the formats read, training checkpoints, workflow JSON, atomic writes."""
