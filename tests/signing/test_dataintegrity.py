"""eddsa-rdfc-2022 against the W3C test vectors (tests/standards/vc-di-eddsa/, from
w3c/vc-di-eddsa TestVectors): canonical document, hashes, signature, byte for byte."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from apkd.signing import dataintegrity as di
from standards_files import STANDARDS, document_loader, load_json

V = STANDARDS / "vc-di-eddsa" / "eddsa-rdfc-2022"


def text(name: str) -> str:
    return (V / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    pair = load_json("vc-di-eddsa/keyPair.json")
    raw = di.b58decode(pair["privateKeyMultibase"][1:])
    assert raw[:2] == b"\x80\x26"
    key = Ed25519PrivateKey.from_private_bytes(raw[2:])
    assert di.multikey_public(key) == pair["publicKeyMultibase"]
    assert di.multikey_private(key) == pair["privateKeyMultibase"]
    return key


def test_vectors_reproduce_byte_for_byte(key) -> None:
    unsigned = load_json("vc-di-eddsa/unsigned.json")
    config = load_json("vc-di-eddsa/eddsa-rdfc-2022/proofConfigDataInt.json")
    canon_doc = di.canonicalize(unsigned, document_loader)
    assert canon_doc == text("canonDocDataInt.txt")
    canon_proof = di.canonicalize(config, document_loader)
    assert canon_proof == text("proofCanonDataInt.txt")
    doc_hash = hashlib.sha256(canon_doc.encode()).hexdigest()
    proof_hash = hashlib.sha256(canon_proof.encode()).hexdigest()
    assert doc_hash == text("docHashDataInt.txt").strip()
    assert proof_hash == text("proofHashDataInt.txt").strip()
    assert proof_hash + doc_hash == text("combinedHashDataInt.txt").strip()
    signed = di.create_proof(
        unsigned,
        key,
        verification_method=config["verificationMethod"],
        created=config["created"],
        loader=document_loader,
    )
    assert key.sign(bytes.fromhex(proof_hash + doc_hash)).hex() == text("sigHexDataInt.txt").strip()
    assert signed["proof"]["proofValue"] == text("sigBTC58DataInt.txt").strip()
    assert signed == load_json("vc-di-eddsa/eddsa-rdfc-2022/signedDataInt.json")


def test_the_w3c_signed_credential_verifies_and_an_altered_one_does_not(key) -> None:
    signed = load_json("vc-di-eddsa/eddsa-rdfc-2022/signedDataInt.json")
    pub = di.public_key_from_multikey(load_json("vc-di-eddsa/keyPair.json")["publicKeyMultibase"])

    def resolve(method: str):
        return pub if method.endswith("#" + di.multikey_public(pub)) else None

    assert di.verify_proof(signed, resolve, loader=document_loader)["cryptosuite"] == "eddsa-rdfc-2022"
    altered = dict(signed, name=signed["name"] + "!")
    with pytest.raises(di.DataIntegrityError, match="altered"):
        di.verify_proof(altered, resolve, loader=document_loader)
    with pytest.raises(di.DataIntegrityError, match="unknown"):
        di.verify_proof(signed, lambda m: None, loader=document_loader)


def test_the_shipped_loader_never_goes_online() -> None:
    with pytest.raises(di.DataIntegrityError, match="no network"):
        di.document_loader("https://example.com/context.jsonld")
