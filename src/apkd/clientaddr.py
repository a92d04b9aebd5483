"""The client's address, as far as it can be known: used by rate limits and login throttling.

The peer of the TCP connection is the client, unless that peer is one of the reverse proxies
listed in ``APKD_TRUSTED_PROXIES``. Then ``X-Forwarded-For`` is read from the right: each
address that is itself a trusted proxy is skipped, and the first one that is not is the
client (the hops left of it were written by the client and prove nothing). A malformed entry
stops the walk at the last address that could be believed. With no trusted proxy (the
default) the header is ignored entirely, so a client cannot choose its own address.

(``apkd serve`` turns off uvicorn's own X-Forwarded-For handling, which trusts 127.0.0.1 by
default: every local client could otherwise pick any address.)

Limits count per address; an IPv6 client counts per /64, the block one subscriber holds.
"""

from __future__ import annotations

import functools
import ipaddress
from functools import lru_cache
from typing import Any

__all__ = ["client_address", "limit_key"]

_STATE_KEY = "apkd_client_address"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in trusted)


@functools.lru_cache(maxsize=4096)  # pure; every public request parses its peer (and its key)
def _parse(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[v6]:port"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "v4:port"
        text = text.split(":", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _trusted(addr: IPAddress | None, networks: tuple[Network, ...]) -> bool:
    return addr is not None and any(addr in n for n in networks)


def _forwarded_for(scope: Any) -> list[str]:
    hops: list[str] = []
    for name, value in scope.get("headers") or ():
        if name.lower() == b"x-forwarded-for":
            hops.extend(h for h in value.decode("latin-1").split(",") if h.strip())
    return hops


def resolve(peer: str | None, forwarded: list[str], trusted: tuple[str, ...]) -> str:
    """The client's address given the peer, the X-Forwarded-For hops (left to right) and the
    trusted proxies. Pure: what :func:`client_address` does to a request."""
    networks = _networks(trusted)
    current = _parse(peer or "")
    if current is None:
        return peer or "unknown"
    if not networks:
        return str(current)
    for hop in reversed(forwarded):
        if not _trusted(current, networks):
            break
        parsed = _parse(hop)
        if parsed is None:
            break
        current = parsed
    return str(current)


def client_address(scope: Any, trusted: tuple[str, ...]) -> str:
    """The client's address for this request (remembered in the request's state)."""
    state = scope.setdefault("state", {})
    cached = state.get(_STATE_KEY)
    if cached is not None:
        return str(cached)
    client = scope.get("client")
    peer = client[0] if client else None
    address = resolve(peer, _forwarded_for(scope) if trusted else [], trusted)
    state[_STATE_KEY] = address
    return address


@functools.lru_cache(maxsize=4096)
def limit_key(address: str) -> str:
    """What a limit counts: the address itself, or its /64 for IPv6."""
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((int(parsed) >> 64 << 64, 64)))
    return address
