"""Optional dependencies ("extras") and the one-line message when one is missing.

``pip install massbargain`` installs the environment alone (gymnasium, numpy, PyYAML): every registered id,
the vector env, the scripted baselines, ``massbargain play``, ``baselines`` and ``facts``. The rest comes
in extras (``pyproject.toml``), each for one kind of user:

============  ===========================================================================================
``train``     PPO training and evaluation: torch, Stable-Baselines3, TensorBoard, tqdm, rich
``render``    ``render_mode="rgb_array"``: matplotlib
``analysis``  tables, figures and notebooks: pandas, pyarrow, matplotlib, Jupyter's kernel and runner
``ray``       the Ray backend of sweeps and mode maps
``duel``      the two-sided PettingZoo environment (``massbargain.duel``): PettingZoo
``explain``   distilled rules and global sensitivity: scikit-learn, SALib
``test``      everything the test suite needs (train, analysis, pytest, ...)
``all``       train, render, analysis, ray, tune, duel and explain
============  ===========================================================================================

:func:`require` raises :class:`MissingExtra` (an ImportError) naming the extra to install; the command line
prints it as one line. Standard library only.
"""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRAS", "MissingExtra", "installed", "missing", "require"]

#: Each extra -> the modules that tell whether it is installed.
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("torch", "stable_baselines3", "tensorboard", "tqdm", "rich"),
    "render": ("matplotlib",),
    "analysis": ("pandas", "pyarrow", "matplotlib"),
    "ray": ("ray",),
    "duel": ("pettingzoo",),
    "explain": ("sklearn", "SALib"),
}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


def _importable(module: str) -> bool:
    """True if ``module`` is installed: found, and not a mere namespace package (a folder of that name in the
    working directory, such as Ray's /tmp/ray, is not Ray)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # a parent package missing, or a module without a spec
        return False
    return spec is not None and spec.origin not in (None, "namespace")


def missing(*extras: str) -> list[str]:
    """Those of ``extras`` with a module that cannot be imported."""
    return [e for e in extras if not all(_importable(m) for m in EXTRAS[e])]


def installed() -> list[str]:
    """The extras whose modules can all be imported."""
    return [e for e in EXTRAS if not missing(e)]


def require(*extras: str, what: str) -> None:
    """Raise MissingExtra if one of ``extras`` is not installed, e.g. ``massbargain train needs the train
    extra (torch not installed): pip install 'massbargain[train]' ...``; ``what`` names what needs them."""
    absent = missing(*extras)
    if absent:
        noun = "extra" if len(absent) == 1 else "extras"
        modules = sorted({m for e in absent for m in EXTRAS[e] if not _importable(m)})
        raise MissingExtra(
            f"{what} needs the {' and '.join(absent)} {noun} ({', '.join(modules)} not installed): "
            f"pip install 'massbargain[{','.join(absent)}]' (in a clone: pip install -e '.[{','.join(absent)}]')"
        )
