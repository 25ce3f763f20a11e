"""`python -m slider_core train --config config.yaml [--prompts prompts.yaml]`: see slider_core/cli/main.py."""
from .cli.main import main

raise SystemExit(main())
