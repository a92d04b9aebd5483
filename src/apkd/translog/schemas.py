"""Response shapes of the transparency log API (docs/contract.md, "Transparency log")."""

from __future__ import annotations

from typing import Any

from msgspec import Struct


class CheckpointOut(Struct):
    tree_size: int
    root_hash: str  # standard base64 of the 32-byte RFC 9162 root
    timestamp: int  # milliseconds since the Unix epoch
    signature: str  # standard base64 of the Ed25519 signature over merkle.checkpoint_message
    key_id: str


class EntryOut(Struct):
    index: int
    entry: str  # standard base64 of the exact leaf bytes
    event: dict[str, Any]


class EntriesOut(Struct):
    entries: list[EntryOut]


class LookupOut(Struct):
    number: str
    entries: list[EntryOut]


class InclusionProofOut(Struct):
    index: int
    tree_size: int
    path: list[str]


class ConsistencyProofOut(Struct):
    first: int
    second: int
    path: list[str]


class CosignaturesOut(Struct):
    tree_size: int  # the size of the cosigned checkpoint
    witnesses: list[str]  # the witnesses whose cosignatures were verified (and stored)
