"""massbargain: a Gymnasium environment of a local official bargaining with the superior government by
borrowing the power of the masses (Deng, Yang & Ma 2022).

Importing the package registers ``MassBargain-v1``, ``MassBargain-Changxing-v1`` and ``MassBargain-Daye-v1``
(model v1, the default) and the same three ids at ``-v0`` (model v0, unchanged: they reproduce their stored
trajectories), each with the native vector env as its ``vector_entry_point``. It imports only
gymnasium and numpy (matplotlib lazily, for rendering), never torch, Stable-Baselines3 or pandas.
"""

from massbargain.actions import ACTION_MODE, Action, EndReason, Mode, Outcome, Response, Severity, episode_mode
from massbargain.core import OBS_INDEX, OBSERVATION_FIELDS
from massbargain.env import MassBargainEnv
from massbargain.registration import ENV_IDS, ENV_VERSIONS, register_envs
from massbargain.scenario import LATEST_VERSION, MODEL_VERSIONS, PRESETS, Scenario, ScenarioError
from massbargain.vector import MassBargainVectorEnv

__version__ = "0.1.0"

__all__ = [
    "ACTION_MODE",
    "ENV_IDS",
    "ENV_VERSIONS",
    "LATEST_VERSION",
    "MODEL_VERSIONS",
    "OBSERVATION_FIELDS",
    "OBS_INDEX",
    "PRESETS",
    "Action",
    "EndReason",
    "MassBargainEnv",
    "MassBargainVectorEnv",
    "Mode",
    "Outcome",
    "Response",
    "Scenario",
    "ScenarioError",
    "Severity",
    "episode_mode",
    "register_envs",
]

register_envs()
