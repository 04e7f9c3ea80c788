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

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.core.stepping import Stepping  # noqa: E402
from app.ui.app import create_application  # noqa: E402
from app.ui.mainwindow import MainWindow  # noqa: E402


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


def _wait(window: MainWindow, signal: Any, start: Callable[[], None]) -> list[Any]:
    got: list[Any] = []
    signal.connect(got.append)
    start()
    app = QApplication.instance()
    assert app is not None
    for _ in range(2000):
        if got:
            break
        window.wait_idle(100)
        app.processEvents()
    signal.disconnect(got.append)
    if not got:
        raise SystemExit("timed out")
    return got


def take(window: MainWindow, shot: Shot, out: Path, samples: Path) -> Path:
    app = QApplication.instance()
    assert app is not None
    window.set_theme(shot.theme)
    _wait(window, window.analysisReady, lambda: window.open_file(samples / shot.room))
    window.wait_idle()
    doc = window.document
    assert doc is not None
    controller: Any = window.resolution
    labels = doc.room.annotations.get("labels", {})
    ids = {name: eid for eid, name in labels.items()}
    if shot.named_sets:
        _wait(window, controller.steppingReady, controller.resolve_named_sets)
    else:
        at = list(doc.room.annotations.get("resolve_at", [])) or list(doc.graph.merges[-1:])
        window.select_event(at[-1], centre=False)
        _wait(window, controller.steppingReady, lambda: controller.resolve_selection(at))
    window.canvas.zoom_to_fit()
    panel = controller.panel
    panel.go_to(shot.step(panel.stepping, ids))
    for _ in range(5):
        app.processEvents()
    file = out / f"{shot.name}.png"
    if shot.compare:
        dialog = _wait(window, controller.dialogOpened, controller.compare)[0]
        dialog.resize(1000, 560)
        for _ in range(5):
            app.processEvents()
        image = dialog.grab()
        dialog.close()
    else:
        image = window.grab()
    if not image.save(str(file), "PNG"):
        raise SystemExit(f"could not write {file}")
    return file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--samples", type=Path, default=ROOT / "sample_rooms")
    parser.add_argument("--only", help="take only the shot of this name")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    create_application()
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, samples_dir=args.samples)
        window.resize(WIDTH, HEIGHT)
        window.show()
        for shot in SHOTS:
            if args.only and shot.name != args.only:
                continue
            file = take(window, shot, args.out, args.samples)
            print(f"wrote {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file}")
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
