"""app.ui.text: untrusted text for Qt widgets (the terminal's helper is core.errors.printable)."""

from __future__ import annotations

from app.ui.text import plain_tooltip, single_line


def test_single_line_folds_whitespace_and_cuts() -> None:
    assert single_line("a\n\tb   c\r\n", 10) == "a b c"
    assert single_line("abcdef", 6) == "abcdef"
    assert single_line("abcdefg", 6) == "abcde…"


def test_plain_tooltip_escapes_markup() -> None:
    tip = plain_tooltip("<img src=x> & <b>")
    assert "<img" not in tip and "<b>" not in tip
    assert "&lt;img src=x&gt; &amp; &lt;b&gt;" in tip
