"""A very small Chrome DevTools Protocol driver for headless Chromium (no Playwright): start the
browser, open pages, evaluate JavaScript, wait for conditions, collect console errors."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Page:
    def __init__(self, ws_url: str) -> None:
        from websockets.sync.client import connect  # uvicorn[standard] brings it

        self._connection = connect(ws_url, max_size=None, open_timeout=10)
        self.ws: Any = self._connection.__enter__()
        self._id = 0
        self.errors: list[str] = []
        self.responses: list[tuple[str, str, int]] = []  # (method, url, status), with Network.enable
        self._requests: dict[str, str] = {}
        self.send("Runtime.enable")
        self.send("Log.enable")
        self.send("Page.enable")

    def _event(self, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        params = msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            self.errors.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error" and entry.get("source") != "network":
                self.errors.append(f"log: {entry.get('text')}")
        elif method == "Network.requestWillBeSent":
            self._requests[params.get("requestId", "")] = params.get("request", {}).get("method", "")
        elif method == "Network.responseReceived":
            response = params.get("response", {})
            verb = self._requests.get(params.get("requestId", ""), "")
            self.responses.append((verb, response.get("url", ""), int(response.get("status", 0))))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append("console: " + " ".join(str(a.get("value")) for a in params.get("args", [])))

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        my = self._id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)

    def pump(self) -> None:
        """Read pending events (console errors) without blocking long."""
        while True:
            try:
                msg = json.loads(self.ws.recv(timeout=0.05))
            except TimeoutError:
                return
            self._event(msg)

    def js(self, expression: str) -> Any:
        res = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"JS error in {expression!r}: {res['exceptionDetails']}")
        return res.get("result", {}).get("value")

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait("document.readyState === 'complete'")

    def wait(self, expression: str, timeout: float = 15.0) -> Any:
        end = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < end:
            try:
                last = self.js(expression)
            except RuntimeError:
                last = None
            if last:
                return last
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression!r} (last: {last!r})")

    def text(self, element_id: str) -> str:
        return str(self.js(f"document.getElementById({json.dumps(element_id)}).textContent"))

    def visible(self, element_id: str) -> bool:
        node = f"document.getElementById({json.dumps(element_id)})"
        return bool(self.js(f"!!{node} && {node}.getClientRects().length > 0"))

    def fill(self, element_id: str, value: str) -> None:
        node = f"document.getElementById({json.dumps(element_id)})"
        self.js(
            f"(() => {{ const n = {node}; n.value = {json.dumps(value)};"
            " n.dispatchEvent(new Event('input', {bubbles: true})); })()"
        )

    def click(self, selector: str) -> None:
        self.js(f"document.querySelector({json.dumps(selector)}).click()")

    def submit(self, form_id: str) -> None:
        self.js(f"document.getElementById({json.dumps(form_id)}).requestSubmit()")

    def viewport(self, width: int, height: int, *, mobile: bool = False, scale: float = 1) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=scale,
            mobile=mobile,
        )

    def screenshot(self, path: Path) -> Path:
        """The visible page as a PNG file."""
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def axe(self, source: str) -> list[dict[str, Any]]:
        """axe-core's violations of every impact on the page as it is now (injected through the
        DevTools protocol, so the page's Content-Security-Policy stays as served)."""
        if not self.js("typeof window.axe === 'object'"):
            self.send("Runtime.evaluate", expression=source)
        found = self.js(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ("
            "{id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)})))"
        )
        return list(found or [])

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


class Browser:
    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="apkd-chromium-")
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.port = self._port()
        self.pages: list[Page] = []

    def _port(self) -> int:
        assert self.proc.stderr is not None
        end = time.monotonic() + 20
        while time.monotonic() < end:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                break
            if "DevTools listening on ws://" in line:
                return int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        raise RuntimeError("chromium did not start")

    def new_page(self) -> Page:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as resp:
            info = json.loads(resp.read())
        page = Page(info["webSocketDebuggerUrl"])
        self.pages.append(page)
        return page

    def close(self) -> None:
        for p in self.pages:
            with suppress(Exception):
                p.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


@contextmanager
def browser(binary: str) -> Iterator[Browser]:
    b = Browser(binary)
    try:
        yield b
    finally:
        b.close()
