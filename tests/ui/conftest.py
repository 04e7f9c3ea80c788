"""Fixtures for every window test."""

from tests.ui.qt_settings import _private_settings  # noqa: F401
