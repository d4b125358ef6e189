"""The network under the gateway's httpx clients (the backend, Rasa): aiohttp. httpx's own
transport (httpcore on anyio streams) took about 1.6 ms of CPU per call on the 2-core machine,
aiohttp about 0.4 ms, and the gateway makes three calls per borrower message. The clients keep
httpx's API and errors, so callers and the tests' transports (httpx.MockTransport,
ASGITransport) are unchanged."""

from __future__ import annotations

import asyncio

import aiohttp
import httpx

# Set by aiohttp from the request itself; httpx's values would be sent twice.
_AIOHTTP_SETS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (a pool of keep-alive connections), made on the first call, inside
    the event loop that uses it. A call waits for a free connection when `max_connections` are
    in use; an idle connection is closed after `keepalive_seconds` (keep it under the server's
    own keep-alive, or a call may go out on a connection the server is closing)."""

    def __init__(self, *, max_connections: int = 100, keepalive_seconds: float = 15.0) -> None:
        self._max_connections = max_connections
        self._keepalive_seconds = keepalive_seconds
        self._session: aiohttp.ClientSession | None = None
        self._made_timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections, keepalive_timeout=self._keepalive_seconds
                ),
                # httpx decodes the body by its Content-Encoding, as with its own transport.
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        headers = [(k, v) for k, v in request.headers.multi_items() if k not in _AIOHTTP_SETS]
        body = await request.aread()
        try:
            async with self._session_now().request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                content = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _httpx_error(exc, request) from exc
        return _response(response, content, request)

    async def post_json(
        self, url: str, body: bytes, headers: dict[str, str], timeout: httpx.Timeout
    ) -> tuple[int, bytes]:
        """A JSON POST as `httpx.AsyncClient.post` over this transport would make it, with the
        same errors, less httpx's own objects: the gateway's call of every borrower message
        (bot/rasa_client.py), where building and reading them cost more of the gateway's CPU
        than aiohttp's call itself. `headers` go as given, with the body's Content-Type. The
        answer's status and body, decoded by its Content-Encoding as httpx decodes it."""
        try:
            async with self._session_now().post(
                url,
                data=body,
                headers={**headers, "Content-Type": "application/json"},
                allow_redirects=False,
                timeout=self._timeouts(timeout),
            ) as response:
                content = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _httpx_error(exc, httpx.Request("POST", url)) from exc
        if response.headers.get("Content-Encoding", "identity") != "identity":
            content = _response(response, content, httpx.Request("POST", url)).content
        return response.status, content

    def _timeouts(self, timeout: httpx.Timeout) -> aiohttp.ClientTimeout:
        key = (timeout.connect, timeout.read)
        if (made := self._made_timeouts.get(key)) is None:
            made = self._made_timeouts[key] = aiohttp.ClientTimeout(
                total=None, sock_connect=timeout.connect, sock_read=timeout.read
            )
        return made

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
            # aiohttp's advice: let the connections' transports close before the loop ends.
            await asyncio.sleep(0)


def _response(
    response: aiohttp.ClientResponse, content: bytes, request: httpx.Request
) -> httpx.Response:
    return httpx.Response(
        response.status,
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers],
        content=content,
        request=request,
    )


def _httpx_error(
    exc: TimeoutError | aiohttp.ClientError, request: httpx.Request
) -> httpx.HTTPError:
    """The error httpx's own transport raises for what aiohttp raised."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # nothing was sent
        return httpx.ConnectTimeout(str(exc) or "timed out", request=request)
    if isinstance(exc, TimeoutError):  # sent, and no answer in time
        return httpx.ReadTimeout(str(exc) or "timed out", request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc), request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(str(exc), request=request)
    return httpx.NetworkError(str(exc), request=request)
