"""Local HTTP servers that speak DeepL's and LibreTranslate's documented APIs.

Their "translation" writes everything in capitals, except glossary terms and text the request
marks as not to be translated, so a test sees what the provider was asked to keep. ``answers``
scripts what the next translation requests get (status and JSON body; None: the normal answer),
``delay`` makes the server slow, and ``requests`` records every request.
"""

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeProvider:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    answers: list[tuple[int, Any] | None] = field(default_factory=list)
    delay: float = 0.0

    def paths(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def handle(self, request: Recorded) -> tuple[int, Any]:
        raise NotImplementedError

    def scripted(self) -> tuple[int, Any] | None:
        return self.answers.pop(0) if self.answers else None


def _capitals(text: str, keep: list[str]) -> str:
    if not keep:
        return text.upper()
    pattern = "|".join(re.escape(term) for term in sorted(keep, key=len, reverse=True))
    parts = re.split(f"({pattern})", text)
    return "".join(part if index % 2 else part.upper() for index, part in enumerate(parts))


def _capitals_outside(text: str, element: str) -> str:
    """Capitals outside ``element`` (kept with its content), tags and character references."""
    parts = re.split(f"({element}|<[^>]+>|&#?\\w+;)", text, flags=re.DOTALL)
    return "".join(part if index % 2 else part.upper() for index, part in enumerate(parts))


@dataclass
class FakeDeepL(FakeProvider):
    key: str = "good-key"
    targets: tuple[str, ...] = (
        "EN-GB",
        "EN-US",
        "UK",
        "AR",
        "TR",
        "RU",
        "RO",
        "PL",
        "IT",
        "BG",
        "EL",
        "PT-PT",
        "ZH",
    )
    glossary_pairs: tuple[tuple[str, str], ...] = (("de", "en"), ("de", "uk"))
    glossaries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def handle(self, request: Recorded) -> tuple[int, Any]:
        if request.headers.get("authorization") != f"DeepL-Auth-Key {self.key}":
            return 403, {"message": "Authorization failure, check auth_key"}
        if request.method == "GET" and request.path == "/v2/languages":
            codes = ("DE", "EN", "UK", "AR", "TR") if request.query["type"] == ["source"] else ()
            return 200, [{"language": code, "name": code} for code in codes or self.targets]
        if request.path == "/v2/glossary-language-pairs":
            return 200, {
                "supported_languages": [
                    {"source_lang": s, "target_lang": t} for s, t in self.glossary_pairs
                ]
            }
        if request.method == "GET" and request.path == "/v2/glossaries":
            return 200, {
                "glossaries": [
                    {k: v for k, v in g.items() if k != "entries"} for g in self.glossaries.values()
                ]
            }
        if request.method == "POST" and request.path == "/v2/glossaries":
            body = request.body
            if body.get("entries_format") != "tsv":
                return 400, {"message": "Invalid entries_format"}
            glossary_id = str(uuid.uuid4())
            entries = dict(line.split("\t") for line in body["entries"].splitlines())
            self.glossaries[glossary_id] = {
                "glossary_id": glossary_id,
                "name": body["name"],
                "ready": True,
                "source_lang": body["source_lang"],
                "target_lang": body["target_lang"],
                "creation_time": "2026-12-07T17:00:00.000Z",
                "entry_count": len(entries),
                "entries": entries,
            }
            return 201, {k: v for k, v in self.glossaries[glossary_id].items() if k != "entries"}
        if request.method == "POST" and request.path == "/v2/translate":
            if scripted := self.scripted():
                return scripted
            body = request.body
            if body["target_lang"] not in self.targets:
                return 400, {"message": "Value for 'target_lang' not supported."}
            if "glossary_id" in body:
                glossary = self.glossaries.get(body["glossary_id"])
                if glossary is None:
                    return 404, {"message": "Glossary not found"}
                keep = [term for term, same in glossary["entries"].items() if term == same]
                texts = [_capitals(text, keep) for text in body["text"]]
            elif body.get("tag_handling") == "xml":
                tags = "|".join(body.get("ignore_tags", []))
                texts = [
                    _capitals_outside(t, f"<(?:{tags})>.*?</(?:{tags})>") for t in body["text"]
                ]
            else:
                texts = [text.upper() for text in body["text"]]
            return 200, {
                "translations": [{"detected_source_language": "DE", "text": t} for t in texts]
            }
        return 404, {"message": "Not found"}


@dataclass
class FakeLibreTranslate(FakeProvider):
    key: str | None = None
    targets: tuple[str, ...] = ("en", "uk", "ar", "tr", "ru", "fa")

    def handle(self, request: Recorded) -> tuple[int, Any]:
        if request.method == "GET" and request.path == "/languages":
            return 200, [
                {"code": "de", "name": "German", "targets": list(self.targets)},
                *({"code": code, "name": code, "targets": ["de"]} for code in self.targets),
            ]
        if request.method == "POST" and request.path == "/translate":
            body = request.body
            if self.key and body.get("api_key") != self.key:
                return 403, {"error": "Invalid API key"}
            if scripted := self.scripted():
                return scripted
            if body["target"] not in self.targets:
                return 400, {"error": f"{body['target']} is not supported"}
            texts = body["q"] if isinstance(body["q"], list) else [body["q"]]
            if body.get("format") == "html":
                # Like translatehtml: white space collapses, <br> comes back as <br/>.
                texts = [
                    _capitals_outside(" ".join(text.split()), '<span translate="no">.*?</span>')
                    .replace("<BR>", "<br/>")
                    .replace("<br>", "<br/>")
                    for text in texts
                ]
            else:
                texts = [text.upper() for text in texts]
            return 200, {"translatedText": texts if isinstance(body["q"], list) else texts[0]}
        return 404, {"error": "Not found"}


def _handler(fake: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Recorded(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=json.loads(raw) if raw else None,
            )
            fake.requests.append(request)
            if fake.delay:
                time.sleep(fake.delay)
            status, body = fake.handle(request)
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout test) is expected, not an error."""


@contextmanager
def serving(fake: FakeProvider) -> Iterator[FakeProvider]:
    """The fake, listening on a free port of 127.0.0.1 until the block ends."""
    server = _Server(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
