"""Run the packseal command: python -m packseal."""

import sys

from packseal.cli import main

sys.exit(main())
