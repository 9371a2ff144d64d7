"""``python -m massbargain``: the ``massbargain`` command line (``python -m massbargain --help``)."""

import sys

from massbargain.experiments.cli.main import main

sys.exit(main())
