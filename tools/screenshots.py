"""Render the window on sample rooms to docs/screenshots/*.png, for the README.

Runs without a display (Qt's offscreen platform) and never touches the user's
settings (a temporary QSettings file). For each shot it opens a sample room,
waits for loading and analysis to finish, selects an event that shows what the
room teaches (the lesson note given, else the first merge, else the newest
event) and grabs the whole window.

    .venv/bin/python tools/screenshots.py            # the default shots
    .venv/bin/python tools/screenshots.py --out DIR  # somewhere else

Look at every PNG it writes before committing them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from screenshots_common import MainWindow, run, save, settle


@dataclass(frozen=True)
class Shot:
    """One screenshot: a sample room (first existing candidate), what to select, the theme."""

    name: str
    candidates: tuple[str, ...]
    lesson_note: int | None = None
    theme: str = "light"
    tab: str = "Event"
    auth_edges: bool = False
    #: Resolve state at the selected event and show this step of the stepper (issue 6).
    resolve_step: int | None = None


SHOTS = (
    # The default room, at the merge where the topic conflict is resolved (lesson note 6).
    Shot("fork_and_merge", ("fork-and-merge.json",), lesson_note=5, resolve_step=9),
    # Bob's power levels on his branch (lesson note 3): the verdict and its rule.
    Shot("ban_vs_power_levels", ("ban-vs-power-levels.json",), lesson_note=2),
    # MSC4297 problem B under v2.1, dark theme, auth edges drawn, the state before/after
    # Eve's join.
    Shot(
        "msc4297_problem_b_v12_dark",
        ("msc4297-problem-b-v12.json",),
        lesson_note=2,
        theme="dark",
        tab="State",
        auth_edges=True,
    ),
)

WIDTH, HEIGHT = int(os.environ.get("SHOT_W", 1600)), int(os.environ.get("SHOT_H", 1000))


def _find(candidates: tuple[str, ...], samples: Path) -> Path | None:
    for name in candidates:
        if (samples / name).exists():
            return samples / name
    # a prefix match, for sample files named a little differently
    for name in candidates:
        stem = name.split(".")[0]
        hits = sorted(samples.glob(f"{stem}*.json*"))
        if hits:
            return hits[0]
    return None


def _resolve(window: MainWindow, step: int) -> None:
    """Resolve at the selection and move the stepper to ``step``."""
    if not window.act_resolve.isEnabled():
        raise SystemExit("Resolve state here is disabled: nothing selected?")
    window.act_resolve.trigger()
    window.wait_idle(120_000)
    window.resolution.panel.go_to(step)


def take(window: MainWindow, shot: Shot, out: Path, samples: Path) -> Path | None:
    path = _find(shot.candidates, samples)
    if path is None:
        print(f"skipped {shot.name}: none of {', '.join(shot.candidates)}")
        return None
    window.set_theme(shot.theme)
    window.open_file(path)
    window.wait_idle(120_000)
    if window.document is None or window.document.path != path:
        raise SystemExit(f"could not open {path}")
    doc = window.document
    window.set_show_auth_edges(shot.auth_edges)
    notes = doc.annotations.lesson
    target: str | None = None
    if shot.lesson_note is not None and notes:
        index = min(shot.lesson_note, len(notes) - 1)
        window.rooms.lesson.go(index)
        target = notes[index].event_id
    else:
        graph = doc.graph
        target = graph.merges[-1] if graph.merges else graph.forward_extremities[-1]
        window.go_to_event(target)
    if shot.resolve_step is not None:
        _resolve(window, shot.resolve_step)
    else:  # browsing, not resolving: the stepper's dock stays closed, as on a first run
        window.resolution.dock.hide()
    tabs = window.inspector.tabs
    for i in range(tabs.count()):
        if tabs.tabText(i) == shot.tab:
            tabs.setCurrentIndex(i)
    settle()
    return save(window.grab(), out / f"{shot.name}.png")


def main(argv: list[str] | None = None) -> int:
    return run(__doc__ or "", SHOTS, take, argv, size=(WIDTH, HEIGHT))


if __name__ == "__main__":
    raise SystemExit(main())
