"""Who is on the other end of the connection, and when to believe a proxy about it.

The client's address feeds the login limits and the audit log, so it comes from the connection
itself unless that connection is one of the reverse proxies named in LOTSE_TRUSTED_PROXIES;
only then do X-Forwarded-For and X-Forwarded-Proto count. By default no one is trusted.
"""

import ipaddress
from collections.abc import Iterable

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> list[Network]:
    """Comma-separated addresses or networks (CIDR); ValueError names the first bad one."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or network (like 10.0.0.1 or 10.0.0.0/8)"
            ) from None
    return networks


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [IPv6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # IPv4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


class ForwardedHeadersMiddleware:
    """Takes the client's address and scheme from a trusted proxy's headers, and only then.

    X-Forwarded-For is read from the right: each proxy appends the address it saw, so the
    first address that is not one of our proxies is the client; what lies left of it was
    written by the client and could be anything.
    """

    def __init__(self, app: ASGIApp, *, trusted: Iterable[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    def _trusts(self, host: str | None) -> bool:
        address = _address(host) if host else None
        return address is not None and any(address in network for network in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.trusted and scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if client and self._trusts(client[0]):
                self._apply(scope)
        await self.app(scope, receive, send)

    def _apply(self, scope: Scope) -> None:
        forwarded_for: list[str] = []
        proto = None
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded_for.extend(value.decode("latin-1").split(","))
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1").strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto if scope["type"] == "http" else proto.replace("http", "ws")
        for hop in reversed(forwarded_for):
            address = _address(hop)
            if address is None:
                return  # a malformed hop: keep the proxy's own address rather than guess
            if not any(address in network for network in self.trusted):
                scope["client"] = (str(address), 0)
                return


def client_address(connection: HTTPConnection) -> str:
    """The client's address for limits and the audit log (see ForwardedHeadersMiddleware)."""
    return connection.client.host if connection.client else "unknown"
