"""The exam-room pages: HTML shells in Indonesian with a strict CSP, their static files, and
the rules the scripts keep (text only into the DOM, the token never in a cookie or a URL)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from apkd.web.controllers import PAGE_CSP, STATIC_DIR

PAGES = {
    "/ujian": ("ujian.js", ["Masuk sebagai peserta", "Nomor sesi ujian", "Kumpulkan ujian", "Sisa waktu"]),
    "/pengawas": ("pengawas.js", ["Masuk sebagai pengawas", "Daftar peserta", "Tambahan waktu (menit)"]),
}
JS_FILES = sorted(p.name for p in (STATIC_DIR / "js").glob("*.js"))


class Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script = False
        self.styles: list[str] = []
        self.handlers: list[str] = []
        self.lang: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "script":
            self.scripts.append(a)
            self._in_script = True
        if tag == "link" and a.get("rel") == "stylesheet":
            self.styles.append(a.get("href") or "")
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if "style" in a:
            self.handlers.append("style")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True


def parse(html: str) -> Assets:
    p = Assets()
    p.feed(html)
    return p


@pytest.mark.parametrize("path", sorted(PAGES))
async def test_page_is_served_with_strict_csp_in_indonesian(client, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert csp == PAGE_CSP
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["connect-src"] == "'self'"
    assert directives["style-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp and "http" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    assert "set-cookie" not in r.headers

    html = r.text
    script, phrases = PAGES[path]
    for phrase in phrases:
        assert phrase in html
    page = parse(html)
    assert page.lang == "id"
    assert not page.inline_script and page.handlers == []  # nothing the CSP would block
    assert [s.get("type") for s in page.scripts] == ["module"]
    src = page.scripts[0]["src"] or ""
    assert src.startswith(f"/static/js/{script}?v=")
    for url in [src, *page.styles]:
        asset = await client.get(url)
        assert asset.status_code == 200, url
    assert "http://" not in html and "https://" not in html  # no CDN, nothing external


async def test_static_files_have_the_right_types(client) -> None:
    assert {"api.js", "dom.js", "format.js", "ujian.js", "pengawas.js"} <= set(JS_FILES)
    for name in JS_FILES:
        r = await client.get(f"/static/js/{name}")
        assert r.status_code == 200
        assert r.headers["content-type"].split(";")[0] in {"text/javascript", "application/javascript"}
        # every relative import of a module resolves
        for dep in re.findall(r"from '\./([a-z]+\.js)'", r.text):
            assert dep in JS_FILES, (name, dep)
    r = await client.get("/static/app.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")


def _sources() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in (STATIC_DIR / "js").glob("*.js")}


def test_scripts_insert_text_only() -> None:
    forbidden = ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]
    for name, text in _sources().items():
        for word in forbidden:
            assert word not in text, f"{name} uses {word}"


def test_token_stays_in_the_tab() -> None:
    sources = _sources()
    for name, text in sources.items():
        assert "document.cookie" not in text, name
        assert "access_token" not in text or name == "api.js", name
        # (the SVG namespace URI names a namespace; nothing is fetched from it)
        bare = text.replace("'http://www.w3.org/2000/svg'", "")
        assert not re.search(r"https?://", bare), f"{name} calls something outside this origin"
    api = sources["api.js"]
    assert "sessionStorage" in api and "localStorage" not in api
    assert "Authorization = `Bearer ${" in api
    assert "credentials: 'omit'" in api


def test_templates_and_css_load_nothing_external() -> None:
    web = Path(STATIC_DIR).parent
    for path in [*web.joinpath("templates").glob("*.html"), *Path(STATIC_DIR).glob("*.css")]:
        text = path.read_text(encoding="utf-8")
        if path.name in {"base.html", "verify.html", "message.html", "registry.css"}:
            continue  # the registry's own page
        assert not re.search(r"(src|href)=\"https?://", text), path.name
        assert "@import" not in text and "url(http" not in text, path.name
