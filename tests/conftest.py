"""Settings for the whole test suite.

``ROOMSCOPE_DEBUG=1``: the command line's last-resort handler (app/cli.py) turns
an unexpected exception into one line and exit status 70 for people; under test a
bug must fail loudly instead, with its traceback, in-process and in the
``roomscope`` subprocesses the tests start (they inherit the environment).
"""

from __future__ import annotations

import os

os.environ.setdefault("ROOMSCOPE_DEBUG", "1")
