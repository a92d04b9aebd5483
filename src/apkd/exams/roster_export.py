"""The roster as a table for spreadsheets (the proctor's "daftar hadir"). Pure module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apkd.exams.minutes_doc import STATUS_TEXT
from apkd.exams.schemas import RosterEntry
from apkd.spreadsheet import Text
from apkd.timefmt import format_datetime_id

HEADER = ["Kursi", "NIP", "Nama", "Nama pengguna", "Status", "Sisa waktu (menit)", "Simpan terakhir"]


def roster_table(entries: list[RosterEntry], tz: str) -> tuple[list[str], list[list[Any]]]:
    rows = []
    for e in entries:
        status = "waiting" if e.waiting else e.status
        label = "Menunggu di pintu" if status == "waiting" else STATUS_TEXT.get(status, status)
        if e.awaiting_device:
            label += " (menunggu pindah perangkat)"
        saved = format_datetime_id(datetime.fromisoformat(e.last_saved_at), tz) if e.last_saved_at else None
        minutes = round(e.remaining_seconds / 60, 1) if e.remaining_seconds is not None else None
        rows.append([Text(e.seat or ""), Text(e.nip or ""), e.full_name, e.username, label, minutes, saved])
    return HEADER, rows
