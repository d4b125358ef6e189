"""The gateway's httpx clients over aiohttp: the same requests, responses and errors as httpx's
own transport, against a real local server (the retry rules depend on which error it is)."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from bot.http_transport import AiohttpTransport
from tests.ports import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    seen = {
        "method": request.method,
        "path": request.path_qs,
        "body": json.loads(body) if body else None,
        "authorization": request.headers.get("Authorization"),
        "host": request.headers.getall("Host"),
        "content_type": request.headers.get("Content-Type"),
        "request_id": request.headers.get("X-Request-Id"),
    }
    return web.json_response(seen, status=201, headers={"X-Request-Id": "abc"})


async def zipped(request: web.Request) -> web.Response:
    return web.Response(body=gzip.compress(b'{"ok": true}'), headers={"Content-Encoding": "gzip"})


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.Response(text="late")


async def failing(request: web.Request) -> web.Response:
    return web.Response(status=503, text="not now")


async def hang_up(request: web.Request) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.close()  # a replica killed while it had the call
    return web.Response()


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_route("*", "/zipped", zipped)
    app.router.add_route("*", "/slow", slow)
    app.router.add_route("*", "/failing", failing)
    app.router.add_route("*", "/hang-up", hang_up)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def client(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server,
        headers={"Authorization": "Bearer t"},
        timeout=httpx.Timeout(0.5),
        transport=AiohttpTransport(),
    ) as http:
        yield http


async def test_a_json_call_goes_and_comes_back_as_with_httpx(client: httpx.AsyncClient) -> None:
    for _ in range(3):  # on one kept-alive connection
        response = await client.post("/echo", params={"a": "中"}, json={"text": "你好"})
        assert response.status_code == 201
        assert response.headers["x-request-id"] == "abc"
        seen = response.json()
        assert seen["method"] == "POST" and seen["path"] == "/echo?a=%E4%B8%AD"
        assert seen["body"] == {"text": "你好"}
        assert seen["authorization"] == "Bearer t"
        assert len(seen["host"]) == 1  # httpx's Host is not sent a second time


async def test_a_compressed_body_is_decoded_once(client: httpx.AsyncClient) -> None:
    assert (await client.get("/zipped")).json() == {"ok": True}


async def test_a_5xx_is_a_response_for_the_caller_to_judge(client: httpx.AsyncClient) -> None:
    response = await client.get("/failing")
    assert (response.status_code, response.text) == (503, "not now")


async def test_the_errors_are_httpxs_own(client: httpx.AsyncClient, server: str) -> None:
    # The Rasa client sends a turn again after a connection error or a hang-up (nothing ran or
    # the replica died) but not after a read timeout (Rasa may still be running it).
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/slow")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/hang-up")
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(httpx.ConnectError):
        await client.get(f"{closed}/echo")


async def test_a_direct_json_post_is_the_request_and_answer_httpx_makes(
    client: httpx.AsyncClient, server: str
) -> None:
    """`post_json` (the gateway's turn of every message) sends what httpx's `post(json=)`
    sends over this transport, and answers the same status and body."""
    body = {"sender": "webchat:1", "message": "你好", "metadata": {"turn": "g1"}}
    via_httpx = await client.post("/echo", json=body, headers={"X-Request-Id": "r" * 16})
    transport = AiohttpTransport()
    try:
        encoded = httpx.Request("POST", server, json=body).content  # as httpx encodes it
        for _ in range(2):  # the second on the kept connection
            status, content = await transport.post_json(
                f"{server}/echo",
                encoded,
                {"Authorization": "Bearer t", "X-Request-Id": "r" * 16},
                httpx.Timeout(0.5),
            )
            assert status == via_httpx.status_code == 201
            assert json.loads(content) == via_httpx.json()
            assert json.loads(content)["content_type"] == "application/json"
        zipped = await transport.post_json(f"{server}/zipped", b"{}", {}, httpx.Timeout(0.5))
        assert zipped == (200, b'{"ok": true}')  # decoded once, as httpx does
        failing = await transport.post_json(f"{server}/failing", b"{}", {}, httpx.Timeout(0.5))
        assert failing == (503, b"not now")
    finally:
        await transport.aclose()


async def test_a_direct_json_post_fails_with_httpxs_errors(server: str) -> None:
    transport = AiohttpTransport()
    quick = httpx.Timeout(0.5)
    try:
        with pytest.raises(httpx.ReadTimeout):
            await transport.post_json(f"{server}/slow", b"{}", {}, quick)
        with pytest.raises(httpx.RemoteProtocolError):
            await transport.post_json(f"{server}/hang-up", b"{}", {}, quick)
        with pytest.raises(httpx.ConnectError) as refused:
            await transport.post_json(f"http://127.0.0.1:{free_port()}/echo", b"{}", {}, quick)
        assert refused.value.request.method == "POST"
    finally:
        await transport.aclose()
