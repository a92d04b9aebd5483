"""Schemathesis over the whole OpenAPI document, against a live server on 127.0.0.1 seeded with the
demo data (banks, users of every role, a session): anonymously and with a token of each role.

Every answer must be a non-5xx that the document allows: its status listed for the operation,
its content type listed for that status, its body valid against the listed schema.

Marked ``fuzz``: `make test` (and CI) runs it; skip it locally with ``-m 'not fuzz'``. The number
of examples per operation and role is bounded (``APKD_FUZZ_EXAMPLES``, default 5) so that the
run stays within a few minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apkd.demo import DEMO_USERS

pytestmark = [pytest.mark.fuzz, pytest.mark.postgres]

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("APKD_FUZZ_EXAMPLES", "5"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# One demo login per role; None is the anonymous caller.
LOGINS: dict[str, tuple[str, str] | None] = {"anonymous": None}
for _spec in DEMO_USERS:
    LOGINS.setdefault(_spec["role"], (_spec["username"], _spec["password"]))
# Ending one's own login would only blind the rest of the run (their answers are still checked
# anonymously, where they are refused).
SELF_ENDING = ("/api/v1/auth/logout", "/api/v1/auth/password")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _empty_database(config: pytest.Config, url: str) -> None:
    """Empty the database with the suite's own truncation (tests/conftest.py)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    here = str(Path(__file__).with_name("conftest.py"))
    conftest = next(p for p in config.pluginmanager.get_plugins() if getattr(p, "__file__", None) == here)

    async def go() -> None:
        engine = create_async_engine(url)
        try:
            await conftest._truncate(engine)
        finally:
            await engine.dispose()

    asyncio.run(go())


class LiveAPI:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.tokens: dict[str, dict[str, str]] = {}

    def headers(self, role: str) -> dict[str, str]:
        login = LOGINS[role]
        if login is None:
            return {}
        r = httpx.post(
            f"{self.base_url}/api/v1/auth/login",
            json={"username": login[0], "password": login[1]},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def live_api(
    db_url: str, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[LiveAPI]:
    _empty_database(pytestconfig, db_url)
    var = tmp_path_factory.mktemp("fuzz-var")
    env = {
        **os.environ,
        "APKD_ENV": "test",
        "APKD_DATABASE_URL": db_url,
        "APKD_SECRET_KEY": "fuzz-secret-" + "y" * 40,
        "APKD_VAR_DIR": str(var),
        "APKD_PUBLIC_RATE_LIMIT": "0",
    }
    port = _free_port()
    env["APKD_BASE_URL"] = f"http://127.0.0.1:{port}"
    for args in (["bank", "import", str(REPO / "exam_banks")], ["demo"]):
        subprocess.run([sys.executable, "-m", "apkd", *args], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "apkd.app:create_app"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield LiveAPI(base)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _document() -> dict[str, Any]:
    """The document the app serves at /schema/openapi.json, built without a server (schemathesis'
    lazy loading does not work with pytest 9); the fixture checks that the server serves it."""
    from litestar.serialization import encode_json

    from apkd.apidocs import complete
    from apkd.app import create_app
    from apkd.config import load_settings

    app = create_app(load_settings({"APKD_ENV": "test", "APKD_SECRET_KEY": "x" * 48, "APKD_VAR_DIR": "var"}))
    return json.loads(encode_json(complete(app.openapi_schema.to_schema(), app)))


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_server_serves_the_fuzzed_document(live_api: LiveAPI) -> None:
    served = httpx.get(f"{live_api.base_url}/schema/openapi.json", timeout=30).json()
    assert served["paths"].keys() == DOCUMENT["paths"].keys()
    assert served == DOCUMENT


def _fuzz_as(role: str) -> Any:
    @schema.parametrize()
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any, live_api: LiveAPI) -> None:
        if role != "anonymous" and case.operation.path in SELF_ENDING:
            pytest.skip("ends the login the rest of the run uses")
        headers = live_api.tokens.get(role)
        if headers is None:
            headers = live_api.tokens[role] = live_api.headers(role)
        case.call_and_validate(base_url=live_api.base_url, headers=headers, checks=CHECKS, timeout=30)

    fuzz.__name__ = f"test_openapi_as_{role}"
    return fuzz


# The admin's run comes last: it may reset another user's password or deactivate them (ending
# their logins), which would leave a later role unable to log in. Within a worker, pytest-xdist
# keeps this order.
test_openapi_as_anonymous = _fuzz_as("anonymous")
test_openapi_as_proctor = _fuzz_as("proctor")
test_openapi_as_candidate = _fuzz_as("candidate")
test_openapi_as_auditor = _fuzz_as("auditor")
test_openapi_as_admin = _fuzz_as("admin")
