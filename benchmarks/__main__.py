"""``python -m benchmarks``: the whole benchmark report."""

import sys

from benchmarks.run_all import main

sys.exit(main())
