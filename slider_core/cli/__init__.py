"""The command line trainer (python -m slider_core train) and its strict YAML job files."""
