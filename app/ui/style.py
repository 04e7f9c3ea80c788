"""The graph's visual language: shapes, the server palette and the two themes.

Shared by the canvas and the rest of the window (legend swatches, inspector
badges), so an event looks the same everywhere (UI.md, "The graph's visual
language"):

* shape says what an event does: message (small dot), state event (square),
  power event (diamond: power levels, join rules, kicks and bans), membership
  (circle ring), create (star); a missing event is a hollow grey placeholder;
* colour says which server sent it, from the Okabe-Ito palette (Okabe & Ito,
  "Color Universal Design", 2008), which stays distinguishable under the common
  colour-vision deficiencies. The busiest servers get the seven colours, the
  rest share grey.

Event kinds follow the spec's event types:
https://spec.matrix.org/v1.16/client-server-api/#mroompower_levels,
https://spec.matrix.org/v1.16/client-server-api/#mroomjoin_rules,
https://spec.matrix.org/v1.16/client-server-api/#mroommember (a ``leave`` sent
by someone else is a kick, ``ban`` a ban).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QColor

from app.core.events import domain_of

__all__ = [
    "OKABE_ITO",
    "OTHER_SERVERS",
    "SHAPE_GLYPH",
    "SHAPE_NAME",
    "THEMES",
    "Shape",
    "Theme",
    "server_colours",
    "shape_of",
    "theme",
]


class Shape(enum.IntEnum):
    """What an event does, drawn as a shape."""

    MESSAGE = 0
    STATE = 1
    POWER = 2
    MEMBERSHIP = 3
    CREATE = 4
    MISSING = 5


#: the glyph each shape is shown as in plain-text legends
SHAPE_GLYPH: Mapping[Shape, str] = {
    Shape.MESSAGE: "•",
    Shape.STATE: "■",
    Shape.POWER: "◆",
    Shape.MEMBERSHIP: "○",
    Shape.CREATE: "★",
    Shape.MISSING: "◌",
}

SHAPE_NAME: Mapping[Shape, str] = {
    Shape.MESSAGE: "message",
    Shape.STATE: "state event",
    Shape.POWER: "power event",
    Shape.MEMBERSHIP: "membership",
    Shape.CREATE: "create",
    Shape.MISSING: "missing",
}

_POWER_TYPES = frozenset({"m.room.power_levels", "m.room.join_rules"})


def shape_of(event: Any) -> Shape:
    """The shape of ``event`` (a PDU, or anything with type/state_key/sender/content)."""
    etype = event.type
    state_key = event.state_key
    if state_key is None:
        return Shape.MESSAGE
    if etype == "m.room.create" and state_key == "":
        return Shape.CREATE
    if etype in _POWER_TYPES:
        return Shape.POWER
    if etype == "m.room.member":
        content = event.content
        membership = content.get("membership") if isinstance(content, Mapping) else None
        if membership == "ban" or (membership == "leave" and event.sender != state_key):
            return Shape.POWER  # a ban or a kick: an exercise of power
        return Shape.MEMBERSHIP
    return Shape.STATE


#: Okabe-Ito, without black (black is the light theme's ink)
OKABE_ITO: Sequence[str] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
)
OTHER_SERVERS = "#999999"


def server_colours(
    senders: Iterable[str], palette: Sequence[str] = OKABE_ITO
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Servers by event count (most first, then by name) and the colour of each.

    Returns ``(servers, colours)``; servers beyond the palette share grey.
    """
    counts = Counter(domain_of(s) or s for s in senders)
    servers = tuple(sorted(counts, key=lambda s: (-counts[s], s)))
    colours = tuple(palette[i] if i < len(palette) else OTHER_SERVERS for i in range(len(servers)))
    return servers, colours


@dataclass(frozen=True, slots=True)
class Theme:
    """Colours of the canvas (as ``#rrggbb`` strings, so this stays plain data)."""

    name: str
    background: str
    ink: str  # text and outlines
    muted: str  # secondary text
    edge: str  # prev_events edges
    auth_edge: str
    lane: str  # faint lane guides
    missing: str
    rejected: str
    selection: str
    extremity: str
    highlight: str
    panel: str  # legend / minimap / tooltip backgrounds
    fade_opacity: float
    #: the server colours, busiest server first (Okabe-Ito, ordered for contrast)
    palette: tuple[str, ...] = tuple(OKABE_ITO)

    def qcolor(self, attr: str, alpha: float = 1.0) -> QColor:
        c = QColor(getattr(self, attr))
        c.setAlphaF(alpha)
        return c


THEMES: Mapping[str, Theme] = {
    "light": Theme(
        name="light",
        background="#fbfbf8",
        ink="#1d1f21",
        muted="#6b6f76",
        edge="#76808e",
        auth_edge="#b07cc6",
        lane="#eeeeea",
        missing="#9a9a9a",
        rejected="#d11a1a",
        selection="#1d1f21",
        extremity="#0072B2",
        highlight="#ffb000",
        panel="#ffffff",
        fade_opacity=0.16,
    ),
    "dark": Theme(
        name="dark",
        background="#1b1d21",
        ink="#e8e6e3",
        muted="#9aa0a8",
        edge="#7d8693",
        auth_edge="#c38fd8",
        lane="#24272c",
        missing="#7b7b7b",
        rejected="#ff4d4d",
        selection="#ffffff",
        extremity="#56B4E9",
        highlight="#ffb000",
        panel="#26292e",
        fade_opacity=0.18,
        # on a dark background the light Okabe-Ito colours come first
        palette=("#56B4E9", "#E69F00", "#009E73", "#D55E00", "#F0E442", "#CC79A7", "#0072B2"),
    ),
}


def theme(name: str) -> Theme:
    """The theme called ``name`` ("light" or "dark")."""
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"unknown theme {name!r} (expected one of {sorted(THEMES)})") from None
