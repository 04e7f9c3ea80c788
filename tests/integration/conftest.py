"""Fixtures for tests against a real homeserver.

``synapse``: one Synapse per test *module* (start-up is about 1.5 s here),
started from the venv's ``matrix-synapse`` on 127.0.0.1 at a free port, with
SQLite in a temporary folder, and stopped after the module. Tests register
their own users (``synapse.register("alice", admin=True)``) and rooms, so
tests in one module must not depend on each other's rooms.

Mark such tests ``@pytest.mark.integration``; without matrix-synapse they are
skipped. See ``synapse_server.py`` for the configuration and the small
client-server helper used to populate rooms.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.synapse_server import SynapseServer, synapse_available


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    if not synapse_available():
        pytest.skip("matrix-synapse is not installed")
    with SynapseServer.started(tmp_path_factory.mktemp("synapse")) as server:
        yield server
