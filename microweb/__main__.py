"""`python -m microweb run MODULE:APP` and `python -m microweb routes MODULE:APP` (see cli.py)."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
