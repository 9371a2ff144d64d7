"""``python -m massbargain.experiments.cli``: the same as the ``massbargain`` command."""

import sys

from massbargain.experiments.cli.main import main

sys.exit(main())
