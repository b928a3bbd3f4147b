"""``python -m handgrad ...`` is the ``handgrad`` command."""

import sys

from handgrad.compare.cli import main

sys.exit(main())
