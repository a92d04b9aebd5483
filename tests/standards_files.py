"""The standards' own files (tests/standards/, vendored from ../shared/standards/): a JSON-LD
document loader that never goes online, the OB 3.0 JSON schemas, and the undefined-term
search the 1EdTech validator does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STANDARDS = Path(__file__).parent / "standards"

CONTEXT_FILES = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.jsonld",
    "https://www.w3.org/ns/credentials/undefined-terms/v2": "credentials-undefined-terms-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-context-3.0.3.json",
}
UNDEFINED = "urn:UNDEFINEDTERM"


def load_json(relative: str) -> Any:
    return json.loads((STANDARDS / relative).read_text(encoding="utf-8"))


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader over the vendored contexts; any other URL is an error (offline)."""
    name = CONTEXT_FILES.get(url)
    if name is None:
        raise ValueError(f"no local copy of {url} (the loader never goes online)")
    return {"contextUrl": None, "documentUrl": url, "document": load_json(f"contexts/{name}")}


def undefined_terms(doc: dict[str, Any]) -> list[str]:
    """The terms `doc` uses that its contexts do not define, found the 1EdTech way: expand
    with an extra ``@vocab`` of urn:UNDEFINEDTERM, so an undefined term becomes an IRI under
    it instead of being dropped, and search the expansion for it."""
    from pyld import jsonld

    probe = dict(doc)
    contexts = doc["@context"] if isinstance(doc["@context"], list) else [doc["@context"]]
    probe["@context"] = [*contexts, {"@vocab": UNDEFINED + "#"}]
    expanded = jsonld.expand(probe, {"documentLoader": document_loader})
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.startswith(UNDEFINED):
                    found.add(key)
                if key == "@type":
                    for t in value if isinstance(value, list) else [value]:
                        if isinstance(t, str) and t.startswith(UNDEFINED):
                            found.add(t)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(expanded)
    return sorted(found)


def schema_errors(instance: Any, schema_file: str) -> list[str]:
    """Errors of `instance` against one of the vendored OB 3.0 JSON schemas (draft 2019-09)."""
    from jsonschema import Draft201909Validator

    schema = load_json(f"schemas/{schema_file}")
    validator = Draft201909Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]
