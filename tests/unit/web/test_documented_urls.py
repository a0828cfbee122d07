"""Every control-plane URL the README and docs/ mention answers: no dead link in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[3]
PATH = re.compile(r"(?:http://127\.0\.0\.1:8000)?(/(?:ui|lineage|docs|openapi\.json|healthz)"
                  r"(?:[/?][^\s`)\"'<>\]|,]*)?)")
SAMPLES = {"{name}": "no-such-thing", "{version}": "1", "{digest}": "0" * 64, "NAME": "no-such-thing"}


def documented_paths() -> list[str]:
    found: set[str] = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for match in PATH.finditer(doc.read_text(encoding="utf-8")):
            path = match.group(1).rstrip(".:;")
            if path.endswith((".md", ".py")) or ".." in path:
                continue  # a file name or an elision, not a URL
            for placeholder, value in SAMPLES.items():
                path = path.replace(placeholder, value)
            found.add(path)
    return sorted(found)


def test_the_docs_mention_the_dashboard() -> None:
    assert "/ui/" in documented_paths()


@pytest.mark.parametrize("path", documented_paths())
def test_documented_url_answers(workspace: object, path: str) -> None:
    from mloop.web import create_app

    with TestClient(create_app(workspace), raise_server_exceptions=False) as client:
        response = client.get(path, follow_redirects=False)
    assert response.status_code < 500, (path, response.text[:300])
    # a resource that does not exist is fine (the samples name none); a route that does not is not
    assert not (response.status_code == 404 and response.text == '{"detail":"Not Found"}'), path
    if path == "/ui/":
        assert response.status_code == 200 and "pipelines" in response.text.lower()
