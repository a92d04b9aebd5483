"""Asking witnesses for cosignatures (C2SP tlog-witness ``add-checkpoint``): ``apkd log witness-push``.

For each witness URL (its submission prefix) the current checkpoint note is posted with an
``old`` size line and the RFC 9162 consistency proof from the size the witness last cosigned:
first with ``old 0`` and no proof; a witness that has seen this log answers 409 with its size
(``text/x.tlog.size``), and the request is sent again with the proof from that size. The
cosignature lines a witness returns are then taken exactly as ``POST /api/v1/log/cosignatures``
takes them (only the witnesses of ``APKD_LOG_WITNESSES``, each verified), and stored.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.config import Settings
from apkd.errors import AppError
from apkd.translog import checkpoints, service

__all__ = ["FeedResult", "feed_witness"]

SIZE_MEDIA_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class FeedResult:
    url: str
    ok: bool
    detail: str  # Indonesian, for the operator
    witnesses: tuple[str, ...] = ()


async def _proof_lines(session: AsyncSession, old: int, size: int) -> str:
    if old == 0 or old == size:
        return ""
    path = await service.consistency_proof(session, old, size)
    return "".join(base64.b64encode(node).decode("ascii") + "\n" for node in path)


async def feed_witness(
    session: AsyncSession, settings: Settings, url: str, *, client: httpx.AsyncClient
) -> FeedResult:
    """Ask the witness at ``url`` to cosign the current checkpoint and store its cosignature.
    Flushes; the caller's unit of work commits."""
    endpoint = f"{url.rstrip('/')}/add-checkpoint"
    cp, note = await checkpoints.current_log_note(session, settings)
    size = cp.tree_size
    old = 0
    for _ in range(2):
        body = f"old {old}\n{await _proof_lines(session, old, size)}\n{note}"
        try:
            r = await client.post(endpoint, content=body.encode(), headers={"Content-Type": "text/plain"})
        except httpx.HTTPError as exc:
            return FeedResult(url, False, f"saksi tidak dapat dihubungi ({type(exc).__name__})")
        if r.status_code == 409 and r.headers.get("content-type", "").startswith(SIZE_MEDIA_TYPE):
            text = r.text.strip()
            if not text.isdigit():
                return FeedResult(url, False, "saksi menjawab 409 tanpa ukuran pohon yang terbaca")
            old = int(text)
            if old > size:
                return FeedResult(
                    url,
                    False,
                    f"saksi sudah menyaksikan log ini berukuran {old}, lebih besar dari {size}: "
                    "log menyusut atau ada dua riwayat (periksa segera)",
                )
            continue
        if r.status_code != 200:
            return FeedResult(url, False, f"saksi menolak checkpoint ukuran {size} (HTTP {r.status_code})")
        lines = r.text if r.text.endswith("\n") else r.text + "\n"
        try:
            done = await checkpoints.accept_cosignatures(session, settings, note + lines)
        except AppError as exc:
            return FeedResult(url, False, f"cosignature dari saksi ditolak: {exc.detail}")
        names = ", ".join(done.witnesses)
        return FeedResult(url, True, f"checkpoint ukuran {size} disaksikan oleh {names}", done.witnesses)
    return FeedResult(url, False, "saksi terus menjawab 409: ukuran yang disaksikannya berubah")
