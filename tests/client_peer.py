"""Let a test choose the client's TCP address: the test client always says "testclient"."""

from __future__ import annotations

from typing import Any


def with_peer(app: Any) -> Any:
    """``app``, whose requests with an ``x-test-peer`` header come from that address."""
    inner = app.asgi_handler

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        for name, value in scope.get("headers", ()):
            if name == b"x-test-peer":
                scope["client"] = (value.decode(), 40000)
        await inner(scope, receive, send)

    app.asgi_handler = handler
    return app
