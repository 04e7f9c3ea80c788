"""Render the Servers dock (issue 8) to docs/screenshots/servers_*.png.

Like tools/screenshots_stepper.py: offscreen, a temporary QSettings file. Each
shot opens a room recorded from real federation, shows the Servers dock, picks a
server and a moment (or two servers to compare) and grabs the window.

    .venv/bin/python tools/screenshots_servers.py            # the default shots
    .venv/bin/python tools/screenshots_servers.py --out DIR  # somewhere else

Look at every PNG it writes before committing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from screenshots_common import MainWindow, run, save, settle, wait_for


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
    window.set_theme(shot.theme)
    wait_for(window, window.analysisReady, lambda: window.open_file(samples / shot.room))
    window.wait_idle()
    controller = window.servers
    controller.show()
    window.resolution.dock.hide()
    window.resizeDocks([controller.dock], [DOCK_HEIGHT], Qt.Orientation.Vertical)
    settle()
    panel = controller.panel
    if shot.second is None:
        panel.choose(shot.first, shot.when)
    else:
        panel.compare(shot.first, shot.second, shot.when)
    window.canvas.zoom_to_fit()
    settle(10)
    return save(window.grab(), out / f"{shot.name}.png")


def main(argv: list[str] | None = None) -> int:
    return run(__doc__ or "", SHOTS, take, argv, size=(WIDTH, HEIGHT))


if __name__ == "__main__":
    raise SystemExit(main())
