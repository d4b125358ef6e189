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
        except aiohttp.ConnectionTimeoutError as exc:  # nothing was sent
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from exc
        except TimeoutError as exc:  # sent, and no answer in time
            raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.NetworkError(str(exc), request=request) from exc
        return httpx.Response(
            response.status,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers],
            content=content,
            request=request,
        )

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
            # aiohttp's advice: let the connections' transports close before the loop ends.
            await asyncio.sleep(0)
