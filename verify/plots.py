"""Figures (matplotlib, Agg backend, PNG): per-order errors along a flow, learning times, scaling fits."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from theory.errors import SpecError

__all__ = ["plot_errors", "plot_learning_times", "plot_scaling", "FORMATS", "check_plot_path"]

#: file formats a figure is written in, by the path's suffix
FORMATS = ("png", "pdf", "svg")


def check_plot_path(path: str, flag: str = "--plot") -> None:
    """Refuse, before anything is computed, a figure path that is a folder or has no known suffix (matplotlib
    would otherwise write ``DIR.png`` next to a folder ``DIR``)."""
    if os.path.isdir(path):
        raise SpecError(f"{flag} {path!r} is a folder; name a file in it, e.g. {os.path.join(path, 'figure.png')!r}")
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise SpecError(f"{flag} {path!r} must end in {', '.join('.' + f for f in FORMATS)}")


def _save(fig, path: str) -> None:
    """Write ``fig`` to exactly ``path`` (no suffix appended); when that fails (a full disk, a folder appeared),
    keep the figure in the temporary folder and say so in one line instead of losing the results."""
    suffix = Path(path).suffix.lower().lstrip(".")
    fmt = suffix if suffix in FORMATS else "png"
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(21, "Is a directory")
        fig.savefig(path, format=fmt)
    except OSError as err:
        import tempfile

        fd, fallback = tempfile.mkstemp(prefix="ebm-verify-plot-", suffix=f".{fmt}")
        os.close(fd)
        try:
            fig.savefig(fallback, format=fmt)
            kept = f"the figure was saved to {fallback} instead"
        except OSError:
            kept = "the figure could not be saved anywhere"
        print(f"warning: cannot write the plot {path!r} ({err.strerror or err}); {kept}", file=sys.stderr)


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SpecError("plotting needs matplotlib: pip install 'ebm-verify[plot]' (or pip install matplotlib)") from None
    return plt


def plot_errors(times, errors, metric: str, threshold: float, learning: list, path: str, title: str = "") -> None:
    """Per-order error :math:`e_k(t)` against log t, the threshold, and the first passages."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for k in range(errors.shape[1]):
        line, = ax.plot(times, errors[:, k], label=f"order {k + 1}")
        if learning[k] is not None:
            ax.axvline(learning[k], color=line.get_color(), linestyle=":", linewidth=1)
    ax.axhline(threshold, color="black", linestyle="--", linewidth=0.8, label=f"δ = {threshold}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel(f"e_k(t)  [{metric}]")
    ax.set_title(title or f"per-order error ({metric})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_learning_times(records: list[dict], metric: str, threshold: float, path: str) -> None:
    """Learning time of each order across the cases of a sweep (one line per case)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    key = f"{metric}@{threshold}"
    for rec in records:
        times = rec["learning"][key]["learning_times"]
        ks = [int(k) for k, t in times.items() if t is not None]
        ts = [t for t in times.values() if t is not None]
        colour = "tab:blue" if rec["learning"][key]["ordered"] else "tab:red"
        ax.plot(ks, ts, marker="o", color=colour, alpha=0.5, linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("order k")
    ax.set_ylabel("learning time t_k")
    ax.set_title(f"learning times ({metric}, δ = {threshold}); red: not ordered")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_scaling(fit, path: str, title: str = "") -> None:
    """Per-order norms of J and of the rows of G against ε (log–log), with the fitted slopes."""
    import mpmath

    plt = _pyplot()
    eps = [float(e) for e in fit.epsilons]
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.8), dpi=120)
    for ax, q, label in ((axes[0], "J", "‖J_k‖"), (axes[1], "G", "‖G_k‖ (rows of order k)")):
        for key in fit.norms[0][q]:
            ys = [float(mpmath.log10(nm[q][key])) if nm[q][key] > 0 else None for nm in fit.norms]
            if any(y is None for y in ys):
                continue
            slope = fit.slopes[q][key]
            ax.plot(eps, [10**y for y in ys], marker=".", label=f"k={key}, slope {slope:.3f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("ε")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    fig.suptitle(title or "order scaling near small weights")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
