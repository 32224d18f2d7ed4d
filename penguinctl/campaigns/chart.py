"""``campaign report --chart FILE.png|svg``: sends and outcomes per day (matplotlib, optional)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from penguinctl.core.errors import PenguinError


def draw(data: dict[str, Any], path: Path) -> None:
    """Bars of messages sent per day, lines of each outcome per day; PNG or SVG by suffix."""
    if path.suffix.lower() not in (".png", ".svg"):
        raise PenguinError(f"{path}: a chart is a .png or .svg file")
    try:
        import matplotlib
    except ImportError:
        raise PenguinError(
            "charts need matplotlib", hint="pip install 'penguinctl[charts]'"
        ) from None
    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    days = sorted(set(data["sent_per_day"]) | set(data["outcomes_per_day"]))
    figure, axes = plt.subplots(figsize=(8, 4))
    try:
        axes.bar(
            days, [data["sent_per_day"].get(d, 0) for d in days], label="sent", color="#4c78a8"
        )
        for outcome, color in (
            ("replied", "#54a24b"),
            ("bounced", "#e45756"),
            ("unsubscribed", "#f58518"),
            ("complained", "#b279a2"),
        ):
            counts = [data["outcomes_per_day"].get(d, {}).get(outcome, 0) for d in days]
            if any(counts):
                axes.plot(days, counts, marker="o", label=outcome, color=color)
        axes.set_title(f"campaign {data['campaign']}: sends and outcomes per day")
        axes.set_ylabel("messages")
        axes.legend()
        figure.autofmt_xdate()
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
