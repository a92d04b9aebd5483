"""The package format (pure): codes, the code-derived encryption, the signed envelope."""

from __future__ import annotations

import json

import pytest

from apkd.signing.keys import generate_key, public_jwk, thumbprint
from apkd.sites import package as pkg


def test_unlock_codes_are_long_random_and_forgiving_to_type() -> None:
    codes = {pkg.new_unlock_code() for _ in range(50)}
    assert len(codes) == 50
    code = codes.pop()
    assert len(code.replace("-", "")) == 20 and set(code.replace("-", "")) <= set(pkg._ALPHABET)
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert pkg.normalize_code(typed) == code


def test_secret_opens_with_its_code_only_and_only_for_its_package() -> None:
    code = pkg.new_unlock_code()
    enc = pkg.encrypt_secret({"stem": "Apa itu SP2D?"}, code, "pkg-1")
    assert "SP2D" not in json.dumps(enc)
    assert pkg.decrypt_secret(enc, code, "pkg-1") == {"stem": "Apa itu SP2D?"}
    with pytest.raises(pkg.WrongCode):
        pkg.decrypt_secret(enc, pkg.new_unlock_code(), "pkg-1")
    with pytest.raises(pkg.WrongCode):  # moved to another package
        pkg.decrypt_secret(enc, code, "pkg-2")


def test_kdf_parameters_out_of_bounds_are_refused_before_any_work() -> None:
    code = pkg.new_unlock_code()
    enc = pkg.encrypt_secret({"a": 1}, code, "p")
    enc["kdf"]["n"] = 2**30  # a file asking for gigabytes of memory
    with pytest.raises(pkg.PackageError):
        pkg.decrypt_secret(enc, code, "p")


def test_envelope_verifies_and_refuses_any_change_or_another_key() -> None:
    key, other = generate_key(), generate_key()
    jwk = public_jwk(key)
    data = pkg.seal_envelope(pkg.RESULTS_FORMAT, {"n": 1}, key, thumbprint(jwk))
    assert data == pkg.seal_envelope(pkg.RESULTS_FORMAT, {"n": 1}, key, thumbprint(jwk))  # deterministic
    env = pkg.open_envelope(data, pkg.RESULTS_FORMAT)
    env.verify(jwk)
    assert env.body == {"n": 1} and len(env.digest) == 64
    with pytest.raises(pkg.PackageError) as exc:
        env.verify(public_jwk(other))
    assert exc.value.code == "wrong_signer"
    doc = json.loads(data)
    doc["body"] = doc["body"][:-2] + ("Q" if doc["body"][-2] != "Q" else "R") + doc["body"][-1]
    with pytest.raises(pkg.PackageError):
        pkg.open_envelope(json.dumps(doc).encode(), pkg.RESULTS_FORMAT).verify(jwk)
    with pytest.raises(pkg.PackageError) as exc:
        pkg.open_envelope(data, pkg.PACKAGE_FORMAT)
    assert exc.value.code == "wrong_format"
    for junk in (b"", b"not json", b"[]", b'{"format": "apkd-site-results/1"}'):
        with pytest.raises(pkg.PackageError):
            pkg.open_envelope(junk, pkg.RESULTS_FORMAT)
