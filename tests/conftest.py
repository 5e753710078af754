import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    env = os.environ.get("RINGRIFT_SHARED")
    if env:
        return Path(env)
    return REPO.parent / "shared"


SHARED = _shared_dir()
CONFORMANCE = SHARED / "conformance"


def pytest_configure(config):
    # The rules tests run all of RingRift's conformance data; without it the run would
    # fail test by test with unrelated-looking errors, so it stops here instead.
    if not CONFORMANCE.is_dir():
        raise pytest.UsageError(
            f"RingRift's conformance data was not found at {CONFORMANCE}; "
            "put the shared folder beside the repository or set RINGRIFT_SHARED=/path/to/shared"
        )


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    if not CONFORMANCE.is_dir():
        pytest.fail(f"conformance data not found at {CONFORMANCE} (set RINGRIFT_SHARED)")
    return CONFORMANCE


@pytest.fixture
def webhook():
    """A local HTTP server on 127.0.0.1 taking alert POSTs: ``(url, bodies received)``."""
    got = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    server.shutdown()
