"""Empty query parameters on the API mean "no filter": `GET /api/v1/cases?kind=&status=` (a form
or a script that fills in only some filters) lists every case, as if they were left out, instead
of filtering on "" (no borrower '', a 422 for an empty number). Done once, before routing, so
every list endpoint and `?as_of=` behave alike."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


def without_empty_values(query: bytes) -> bytes:
    """The query string without its `name=` (and bare `name`) parameters; the others are kept
    as they were sent, encoding and order included."""
    kept = [part for part in query.split(b"&") if part.partition(b"=")[2]]
    return b"&".join(kept)


class IgnoreEmptyQueryValues:
    """ASGI middleware: drops empty query parameters of GET requests under `prefix` (reads only:
    a provider's webhook may sign its URL, and nothing that writes takes filters)."""

    def __init__(self, app: ASGIApp, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and scope["path"].startswith(self.prefix)
        ):
            query = scope.get("query_string", b"")
            cleaned = without_empty_values(query)
            if cleaned != query:
                scope = {**scope, "query_string": cleaned}
        await self.app(scope, receive, send)
