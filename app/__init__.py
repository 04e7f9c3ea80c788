"""roomscope: see inside Matrix rooms."""

__version__ = "0.1.0"
