"""Render the Servers dock (issue 8) to docs/screenshots/servers_*.png.

Like tools/screenshots_stepper.py: offscreen, a temporary QSettings file. Each
shot opens a room recorded from real federation, shows the Servers dock, picks a
server and a moment (or two servers to compare) and grabs the window.

    .venv/bin/python tools/screenshots_servers.py            # the default shots
    .venv/bin/python tools/screenshots_servers.py --out DIR  # somewhere else

Look at every PNG it writes before committing them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.ui.app import create_application  # noqa: E402
from app.ui.mainwindow import MainWindow  # noqa: E402


@dataclass(frozen=True)
class Shot:
    name: str
    room: str
    first: str
    when: str
    second: str | None = None  # compare mode when set
    theme: str = "light"


SHOTS = (
    # hs3, cut off in round 1: what it lacked is faded; its state beside the agreed one.
    Shot("servers_three_servers_hs3", "fed-three-servers-v12.json", "hs3", "round 1 partition"),
    # The two sides of a real fork: each one's topic and name, the other's missing.
    Shot(
        "servers_compare_topic_name",
        "fed-concurrent-topic-name-v12.json",
        "hs1",
        "during the partition",
        second="hs2",
    ),
    Shot(
        "servers_compare_demotion_dark",
        "fed-demotion-wins-v12.json",
        "hs1",
        "during the partition",
        second="hs2",
        theme="dark",
    ),
)

WIDTH, HEIGHT = 1600, 1000
DOCK_HEIGHT = 360


def take(window: MainWindow, shot: Shot, out: Path, samples: Path) -> Path:
    app = QApplication.instance()
    assert app is not None
    window.set_theme(shot.theme)
    got: list[Any] = []
    window.analysisReady.connect(got.append)
    window.open_file(samples / shot.room)
    for _ in range(600):
        if got:
            break
        window.wait_idle(100)
        app.processEvents()
    window.analysisReady.disconnect(got.append)
    window.wait_idle()
    controller: Any = window.servers  # type: ignore[attr-defined]
    controller.show()
    window.resolution.dock.hide()  # type: ignore[attr-defined]
    window.resizeDocks([controller.dock], [DOCK_HEIGHT], Qt.Orientation.Vertical)
    for _ in range(5):
        app.processEvents()
    panel = controller.panel
    if shot.second is None:
        panel.choose(shot.first, shot.when)
    else:
        panel.compare(shot.first, shot.second, shot.when)
    window.canvas.zoom_to_fit()
    for _ in range(10):
        app.processEvents()
    file = out / f"{shot.name}.png"
    if not window.grab().save(str(file), "PNG"):
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
