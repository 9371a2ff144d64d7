"""Experiments around the environment, one subpackage per concern.

- :mod:`massbargain.experiments.cli`: the ``massbargain`` command line (and ``play``).
- :mod:`massbargain.experiments.maps`: sweeps over scenarios and seeds, and the mode map built on them.
- :mod:`massbargain.experiments.measures`: stylized facts, benchmarks, operation counts, the PPO table.
- :mod:`massbargain.experiments.analysis`: the notebook library (tables and plots of policies and runs).
"""
