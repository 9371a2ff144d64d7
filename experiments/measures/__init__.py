"""Measurements of the model and its tools: stylized facts (:mod:`.facts`), speed (:mod:`.bench`,
:mod:`.opcount`) and the trained agents' table (:mod:`.ppo_table`)."""
