"""The corpus of broken room files in tests/data/broken: one clear error or finding each.

tests/data/broken/expected.json says, for every file, the error (a substring of
the one-line message) or the finding kind. The same corpus goes through the CLI
in tests/commands/test_info_cli.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.sources.files import RoomFileError, load_room

BROKEN = Path(__file__).resolve().parents[1] / "data" / "broken"
EXPECTED: dict[str, dict[str, str]] = {
    k: v for k, v in json.loads((BROKEN / "expected.json").read_text()).items() if k[0] != "_"
}


def test_every_file_has_an_expectation() -> None:
    present = {p.name for p in BROKEN.iterdir() if p.name != "expected.json"}
    assert present == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file(name: str) -> None:
    path = BROKEN / name
    expected = EXPECTED[name]
    if "error" in expected:
        with pytest.raises(RoomFileError) as err:
            load_room(path)
        message = str(err.value)
        assert message.startswith(f"{path}: ") or message.startswith(f"{path} line ")
        assert expected["error"] in message
        assert "\n" not in message
    else:
        room = load_room(path)
        kinds = [f.kind for f in room.findings]
        assert kinds == [expected["finding"]], kinds
        assert len(room.graph.order) == len(room.events)
