"""`python -m slider_core train --config config.yaml [--prompts prompts.yaml]`: see slider_core/cli.py."""
from .cli import main

raise SystemExit(main())
