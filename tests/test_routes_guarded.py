"""Every route either declares who may call it (guards) or is explicitly public."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from apkd.app import create_app


def test_every_route_is_guarded_or_public(settings) -> None:
    app = create_app(settings)
    unguarded = []
    for route in app.routes:
        if route.path.startswith("/schema"):
            continue  # the OpenAPI document is public by design
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or handler.http_methods == {"OPTIONS"}:
                continue  # CORS preflight handlers that Litestar adds itself
            guards = [g for layer in handler.ownership_layers for g in (layer.guards or [])]
            public = handler.opt.get("public") is True
            if not guards and not public:
                unguarded.append(f"{sorted(handler.http_methods)} {route.path}")
            if guards and public:
                unguarded.append(f"{route.path}: both public and guarded")
    assert unguarded == []
