"""`python -m nsim.cli`: the `nsim` command."""

import sys

from nsim.cli import main

sys.exit(main())
