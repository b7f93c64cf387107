"""Allow ``python -m ethos``."""

from __future__ import annotations

import sys

from ethos.cli import main

sys.exit(main())
