"""The local API docs (webhooks_cli/apidocs.py): Swagger UI's page, its files from the
installed package, and the committed document; nothing else, and no host named."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from webhooks_cli.apidocs import ApiDocs, Response

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.json"
TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}


class References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def served(docs: ApiDocs, path: str) -> Response:
    response = docs.respond(path)
    assert response is not None, f"{path} is not served"
    return response


def referenced_by_the_page(docs: ApiDocs) -> list[str]:
    parser = References()
    parser.feed(served(docs, "/docs/").body.decode())
    return parser.urls


def test_every_file_the_page_references_is_served_with_its_type() -> None:
    docs = ApiDocs(COMMITTED)
    urls = referenced_by_the_page(docs)
    assert {"/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui-standalone-preset.js"} <= set(urls)
    for url in urls:
        response = served(docs, url)
        assert response.status == 200, url
        assert response.content_type.startswith(TYPES[Path(url).suffix]), url
        assert response.body, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"]


def test_the_page_is_swagger_ui_over_the_local_document_and_names_no_host() -> None:
    docs = ApiDocs(COMMITTED)
    page = served(docs, "/docs/")
    assert (page.status, page.content_type) == (200, "text/html; charset=utf-8")
    assert "<title>Serverless webhook receiver: API docs</title>" in page.body.decode()
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    script = served(docs, "/docs/initializer.js").body.decode()
    assert 'url: "/openapi.json"' in script
    assert "validatorUrl: null" in script
    for text in (page.body.decode(), script):
        assert not re.search(r"https?:|//[\w-]+\.", text), "the page names a host"
    assert all(url.startswith("/docs/") for url in referenced_by_the_page(docs))


def test_docs_without_its_slash_is_redirected() -> None:
    response = served(ApiDocs(COMMITTED), "/docs")
    assert response.status == 308
    assert response.headers["Location"] == "/docs/"


def test_the_document_is_the_committed_one() -> None:
    response = served(ApiDocs(COMMITTED), "/openapi.json?v=1")
    assert response.content_type == "application/json"
    assert json.loads(response.body) == json.loads(COMMITTED.read_text())


def test_with_the_stack_url_the_document_names_it_as_its_server() -> None:
    response = served(ApiDocs(COMMITTED, api_url="http://127.0.0.1:3000"), "/openapi.json")
    expected = json.loads(COMMITTED.read_text())
    expected["servers"] = [{"url": "http://127.0.0.1:3000", "description": "the local stack"}]
    assert json.loads(response.body) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/docs/../pyproject.toml",
        "/docs/%2e%2e/pyproject.toml",
        "/docs/swagger-ui.css/../../pyproject.toml",
        "/docs//etc/passwd",
        "/docs/LICENSE",
        "/docs/oauth2-redirect.html",
        "/docs/swagger-editor-bundle.js",
        "/docs/swagger-initializer.js",
        "/docs/index.html",
        "/pyproject.toml",
        "/swagger-ui.css",
        "/",
        "/docsx",
        "/openapi.yaml",
    ],
)
def test_anything_else_is_not_a_docs_path(path: str) -> None:
    assert ApiDocs(COMMITTED).respond(path) is None


def test_a_caller_changing_an_answers_headers_does_not_change_the_next_answer() -> None:
    docs = ApiDocs(COMMITTED)
    served(docs, "/docs/").headers["Set-Cookie"] = "x=1"
    assert "Set-Cookie" not in served(docs, "/docs/").headers


def test_the_docs_offer_no_try_it_out_which_could_only_send_an_unsigned_webhook() -> None:
    docs = ApiDocs(COMMITTED, api_url="http://127.0.0.1:3000")
    script = docs.respond("/docs/initializer.js")
    assert script is not None
    assert "supportedSubmitMethods: []" in script.body.decode()
