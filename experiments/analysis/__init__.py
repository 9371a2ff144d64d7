"""The notebook library: tables of policies and runs (:mod:`.tables`) and their plots (:mod:`.plots`).

``from massbargain.experiments import analysis as an`` gives the tables' functions directly
(``an.policy_surface(...)``); plots are ``massbargain.experiments.analysis.plots``.
"""

from massbargain.experiments.analysis.tables import *  # noqa: F401,F403
from massbargain.experiments.analysis.tables import __all__  # noqa: F401
