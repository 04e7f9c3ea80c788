"""Render the resolution stepper mid-resolution to docs/screenshots/stepper_*.png.

Like tools/screenshots.py: offscreen, a temporary QSettings file. For each shot
it opens a sample room, resolves at the room's merge (``annotations.resolve_at``)
or the file's state sets, steps to a chosen step and grabs the window (or the
compare dialog).

    .venv/bin/python tools/screenshots_stepper.py            # the default shots
    .venv/bin/python tools/screenshots_stepper.py --out DIR  # somewhere else

Look at every PNG it writes before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from screenshots_common import MainWindow, run, save, settle, wait_for

from app.core.stepping import Stepping


def _check_of(label: str) -> Callable[[Stepping, dict[str, str]], int]:
    """The step checking the event labelled ``label``."""

    def find(stepping: Stepping, ids: dict[str, str]) -> int:
        for step in stepping.steps:
            if step.kind == "auth check" and step.focus == ids.get(label):
                return step.index
        return 0

    return find


def _kind(kind: str) -> Callable[[Stepping, dict[str, str]], int]:
    def find(stepping: Stepping, ids: dict[str, str]) -> int:
        return next((s.index for s in stepping.steps if s.kind == kind), 0)

    return find


@dataclass(frozen=True)
class Shot:
    name: str
    room: str
    step: Callable[[Stepping, dict[str, str]], int]
    theme: str = "light"
    named_sets: bool = False
    compare: bool = False


SHOTS = (
    # Bob's power levels fail once Alice's ban is in the partial state.
    Shot("stepper_ban_vs_power_levels", "ban-vs-power-levels.json", _check_of("PB")),
    # v2.1's conflicted state subgraph brings back the power levels in between.
    Shot(
        "stepper_msc4297_problem_b_subgraph",
        "msc4297-problem-b-v12.json",
        _kind("conflicted state subgraph"),
        theme="dark",
    ),
    Shot(
        "stepper_msc4297_problem_b_compare",
        "msc4297-problem-b-v12.json",
        _kind("result"),
        compare=True,
    ),
)

WIDTH, HEIGHT = 1600, 1000


def take(window: MainWindow, shot: Shot, out: Path, samples: Path) -> Path:
    window.set_theme(shot.theme)
    wait_for(window, window.analysisReady, lambda: window.open_file(samples / shot.room))
    window.wait_idle()
    doc = window.document
    assert doc is not None
    controller: Any = window.resolution
    labels = doc.room.annotations.get("labels", {})
    ids = {name: eid for eid, name in labels.items()}
    if shot.named_sets:
        wait_for(window, controller.steppingReady, controller.resolve_named_sets)
    else:
        at = list(doc.room.annotations.get("resolve_at", [])) or list(doc.graph.merges[-1:])
        window.select_event(at[-1], centre=False)
        wait_for(window, controller.steppingReady, lambda: controller.resolve_selection(at))
    window.canvas.zoom_to_fit()
    panel = controller.panel
    panel.go_to(shot.step(panel.stepping, ids))
    settle()
    file = out / f"{shot.name}.png"
    if shot.compare:
        dialog = wait_for(window, controller.dialogOpened, controller.compare)[0]
        dialog.resize(1000, 560)
        settle()
        image = dialog.grab()
        dialog.close()
    else:
        image = window.grab()
    return save(image, file)


def main(argv: list[str] | None = None) -> int:
    return run(__doc__ or "", SHOTS, take, argv, size=(WIDTH, HEIGHT))


if __name__ == "__main__":
    raise SystemExit(main())
