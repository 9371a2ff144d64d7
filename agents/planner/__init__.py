"""A reference planner over the dynamics core: rollout with a few base policies (Bertsekas).

How close to optimal is a learned policy? This package gives the yardstick: a model-based planner that uses
the dynamics core (:mod:`massbargain.core`) as its simulator. It follows the policy protocol
(``act(obs)``: (F,) -> int, (B, F) -> (B,) ints), so evaluation, sweeps and analysis accept it.

The algorithm (one decision)
----------------------------
At each day and for each unfinished episode of the batch, the planner

1. builds ``P`` *root states* (particles, 32 by default): simulator states consistent with what it knows;
2. *screens*: for every candidate action ``a`` (all eight) and every base policy ``k``, plays ``a`` today
   and then follows ``k`` to the end of the episode, from every root, in **one** batched call of
   :func:`massbargain.core.step` per simulated day (episodes × actions × base policies × particles rows;
   rows leave the batch as they end), and scores ``Q(a) = max_k mean_particles(return)``;
3. *confirms*: the default is the best action a base policy itself would take here. If the best ``Q`` is
   another action, that action and the default are both re-simulated from ``confirm_particles`` (256)
   fresh roots, and the planner departs from the default only if the paired difference exceeds
   ``confidence`` (2) standard errors (the winner's curse of eight noisy estimates, most for risky
   actions such as MOBILIZE whose rare disasters a few dozen particles miss).

This is Bertsekas' rollout algorithm with several base heuristics: with exact evaluation it is never worse
than the best of its base policies, and it re-decides every day from the current state. The base policies
are pluggable (``make_planner(kind, scenario, base_policies=[...])``: any policies with ``act(obs)`` that
decide from the observation alone); by default they are the best two rules of a grid of 90 readable
scripted rules scored on the scenario at construction (:func:`select_base_policies`), plus ``accept``.

Variance reduction: all continuations of one root share its random numbers, including the normals behind
the binomial draws, and the superior's lottery is drawn by an exponential clock that keeps its law
(:mod:`~massbargain.agents.planner.simulator`). Together they cut the SD of the difference of two actions'
returns on one root about tenfold.

Two variants
------------
* ``honest`` sees only the observations, exactly what a learning agent sees; its return is the fair
  target for PPO. It rebuilds simulator states from the observation history
  (:class:`~massbargain.agents.planner.belief.Belief`): observed fields; evidence, pressure stock, peak
  disorder, warnings, the standoff clock and investigations tracked exactly; mood, resolve and the
  brokers' recklessness as grid posteriors; the punishment so far as a distribution.
* ``clairvoyant`` also receives the true simulator state, so only the future randomness is unknown. Give
  it the state with :meth:`RolloutPlanner.act_with_state`, a ``state_source`` callable, or run it through
  :func:`evaluate_planner`. It is a bound on what information buys *this* planner, and not a strict one:
  one-step rollout is not monotone in information (docs/PLANNER.md).

Modules: :mod:`.rules` (scripted base policies), :mod:`.simulator` (batched rollouts with common random
numbers, the superior's law), :mod:`.belief` (the honest belief), :mod:`.rollout_planner` (the planner),
:mod:`.evaluate` (evaluation on common luck, speed, paired comparisons). See docs/PLANNER.md.
"""

from massbargain.agents.planner.belief import Belief, RecklessnessPosterior
from massbargain.agents.planner.evaluate import compare_returns, evaluate_planner, evaluate_policy, planner_speed
from massbargain.agents.planner.rollout_planner import KINDS, RolloutPlanner, default_base_policies, make_planner
from massbargain.agents.planner.rules import ScriptedRule, rule_grid, select_base_policies
from massbargain.agents.planner.simulator import (
    ClockSuperior,
    response_log_probabilities,
    rollout_returns,
    simulate,
)

__all__ = [
    "KINDS",
    "Belief",
    "ClockSuperior",
    "RecklessnessPosterior",
    "RolloutPlanner",
    "ScriptedRule",
    "compare_returns",
    "default_base_policies",
    "evaluate_planner",
    "evaluate_policy",
    "make_planner",
    "planner_speed",
    "response_log_probabilities",
    "rollout_returns",
    "rule_grid",
    "select_base_policies",
    "simulate",
]
