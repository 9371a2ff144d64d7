"""Agents: scripted baseline policies, PPO training on Stable-Baselines3, loading and evaluating agents.

Every policy follows one protocol: an object with ``act(obs) -> action`` that maps an observation of shape
(F,) to an action, and a batch (B, F) to actions (B,). Importing this package does not import torch;
the training modules do.
"""

from massbargain.agents.baselines import BASELINES, Policy

__all__ = ["BASELINES", "Policy"]
