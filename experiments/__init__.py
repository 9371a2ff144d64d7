"""Experiments: the stylized-fact table, training runs and analyses of massbargain."""
