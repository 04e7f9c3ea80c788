"""``roomscope render``: a PNG or SVG of the graph, without a window."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.cli import main
from tests.layout.rooms import sample_fork_merge


@pytest.fixture
def room_file(tmp_path: Path) -> Path:
    events = [dict(e.raw) for e in sample_fork_merge().values()]
    path = tmp_path / "room.json"
    path.write_text(json.dumps({"format": "roomscope.room", "version": 1, "events": events}))
    return path


def test_render_png(room_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PySide6.QtGui import QColor, QImage

    out = tmp_path / "graph.png"
    assert main(["render", str(room_file), "-o", str(out)]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(out))
    assert not image.isNull()
    # 13 rows (12 events and one missing) at a readable zoom: the image is tall enough
    assert image.width() == 1200
    assert image.height() >= 13 * 20
    # something other than the background was drawn: the create event's blue star
    colours = {image.pixelColor(x, y).name() for x in range(0, 200, 2) for y in range(0, 120, 2)}
    assert QColor("#0072B2").name().lower() in colours
    assert "12 events" in capsys.readouterr().out


def test_render_svg(room_file: Path, tmp_path: Path) -> None:
    from PySide6.QtSvg import QSvgRenderer

    out = tmp_path / "graph.svg"
    assert main(["render", str(room_file), "-o", str(out), "--theme", "dark"]) == 0
    text = out.read_text()
    assert text.lstrip().startswith("<?xml")
    assert "<svg" in text
    assert QSvgRenderer(str(out)).isValid()
    # the labels are in the drawing as text
    assert "power_levels" in text


def test_render_rejects_other_formats(
    room_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", str(room_file), "-o", str(tmp_path / "graph.jpg")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert ".png or .svg" in err


def test_render_a_broken_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["render", str(bad), "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("roomscope: ")
    assert "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_render_marks_rejected_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sample room whose lesson is two rejected events: the render says so."""
    sample = Path(__file__).resolve().parents[2] / "sample_rooms" / "v12-additional-creators.json"
    if not sample.exists():
        pytest.skip("sample room not present")
    out = tmp_path / "v12.png"
    assert main(["render", str(sample), "-o", str(out)]) == 0
    assert "2 rejected" in capsys.readouterr().out
    assert main(["render", str(sample), "-o", str(out), "--no-verdicts"]) == 0
    assert capsys.readouterr().out.endswith("13 events\n")
