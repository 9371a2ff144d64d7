"""The learning superior: fictitious play between the county official and the prefecture (docs/DUEL.md)."""
