"""``python -m massbargain``: the ``massbargain`` command line (``python -m massbargain --help``).

Importing this module does nothing (the environment package imports nothing from the command line)."""

import sys

if __name__ == "__main__":
    from massbargain.experiments.cli.main import main

    sys.exit(main())
