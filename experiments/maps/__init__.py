"""Sweeps over scenarios and seeds (:mod:`.sweep`) and the mode map built on them (:mod:`.mode_map`)."""
