from collections.abc import Iterator

import pytest

from support import Api, Server, running_server


@pytest.fixture(scope="session")
def server(database_url: str) -> Iterator[Server]:
    """A real `tutela serve` on each database, shared by the API tests."""
    with running_server(database_url) as s:
        yield s


@pytest.fixture
def api(server: Server) -> Iterator[Api]:
    client = server.client("platform")
    yield client
    client.http.close()
