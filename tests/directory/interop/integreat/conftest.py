"""Fixtures for the Integreat tests: the saved answers of the Hagen region, the category
mapping, and a local server that answers like Integreat's API."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from directory.interop.integreat.client import read_files
from directory.interop.integreat.mapping import CategoryMap
from lotse.settings import get_settings
from tests import FIXTURES

INTEGREAT = FIXTURES / "integreat"


@pytest.fixture
def feeds() -> dict:
    return read_files(INTEGREAT, region="hagen")


@pytest.fixture
def categories() -> CategoryMap:
    return CategoryMap.load(get_settings().seed_dir / "hagen" / "integreat_categories.json")


class _IntegreatHandler(BaseHTTPRequestHandler):
    broken_language = "xx"

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) == 5 and parts[:2] == ["api", "v3"] and parts[4] == "locations":
            region, language = parts[2], parts[3]
            if language == self.broken_language:
                self._send(200, b"<html>Wartungsarbeiten</html>", "text/html")
                return
            file = INTEGREAT / f"{region}-{language}.json"
            if file.exists():
                self._send(200, file.read_bytes(), "application/json")
                return
        self._send(404, b'{"error": "not found"}', "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture(scope="module")
def integreat_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _IntegreatHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=10)
