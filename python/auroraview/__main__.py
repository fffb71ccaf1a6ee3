"""`python -m auroraview`: the same as the `auroraview` command."""

from .cli import main

raise SystemExit(main())
