"""The graph canvas driven as a user would: clicks, keys, toggles, exports."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from app.ui.canvas import GraphCanvas
from tests.layout.rooms import eid, sample_fork_merge


@pytest.fixture
def canvas(qtbot):  # type: ignore[no-untyped-def]
    c = GraphCanvas()
    qtbot.addWidget(c)
    c.resize(900, 700)
    c.show()
    qtbot.waitExposed(c)
    c.set_room(sample_fork_merge())
    return c


def at(canvas: GraphCanvas, name: str):  # type: ignore[no-untyped-def]
    """The viewport and the position of event ``name`` in it."""
    vp = canvas._graphics.viewport()
    return vp, vp.mapFrom(canvas, canvas.node_position(eid(name)))


def test_click_selects_the_node_under_the_mouse(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    target = eid("ban")
    vp, pos = at(canvas, "ban")
    with qtbot.waitSignal(canvas.selectionChanged) as blocker:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=pos)
    assert blocker.args == [[target]]
    assert canvas.selected() == (target,)


def test_shift_click_adds_to_the_selection(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    vp, p1 = at(canvas, "m1")
    _, p2 = at(canvas, "m2")
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=p1)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos=p2)
    assert canvas.selected() == (eid("m1"), eid("m2"))
