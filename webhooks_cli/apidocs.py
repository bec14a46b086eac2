"""The receiver's API documentation for the local stack: Swagger UI over the committed
`openapi.json`, served from the installed swagger-ui-py package (Swagger UI 5.x, which
renders OpenAPI 3.1). Nothing is fetched from the internet: the page names no host, and
its Content-Security-Policy lets the browser load only from the server that served it.

The interface, for an HTTP server on 127.0.0.1 (the inspector, `webhooks dev`):

    docs = ApiDocs(project.root / "openapi.json", api_url="http://127.0.0.1:3000")
    response = docs.respond(path)  # path as requested; a query string is ignored
    if response is None:
        ...  # not a docs path: answer 404
    else:
        # send response.status, Content-Type: response.content_type,
        # Content-Length: len(response.body), every response.headers item, response.body

`respond` answers only these paths, and only GET (or HEAD) should reach it:
- `/docs`: 308 to `/docs/`
- `/docs/`: the Swagger UI page
- `/docs/<asset>`: one of a fixed list of Swagger UI's files (ASSETS); nothing else
- `/openapi.json`: the committed document; with `api_url`, its `servers` is that URL
  (the running gateway's), which the page shows. The page's Content-Security-Policy
  allows requests to its own origin only, so "Try it out" against a gateway on another
  port is refused by the browser (the gateway sends no CORS headers either).

It is thread-safe: it only reads files.
"""

from __future__ import annotations

import html
import importlib.util
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

DOCS = "/docs"
OPENAPI = "/openapi.json"
STATIC_PACKAGE = "swagger_ui"
# Swagger UI's own files the page loads, and their types. A fixed list, so no request
# path ever becomes a file path (no traversal, nothing else of the package is served).
JAVASCRIPT = "text/javascript; charset=utf-8"
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": JAVASCRIPT,
    "swagger-ui-standalone-preset.js": JAVASCRIPT,
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
# Ours, not the package's: the page's start-up script, a file of its own so the
# Content-Security-Policy needs no inline script.
INITIALIZER = "initializer.js"
HTML = "text/html; charset=utf-8"
JSON = "application/json"
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
# The page and the document change when the code does (`make openapi`): always revalidated.
# The package's files change only with its version: an hour is plenty for a local tool.
NO_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=3600"
# Swagger UI styles elements inline and draws some icons as data: URIs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; "
    # Not framed by another site's page (default-src does not cover it).
    "frame-ancestors 'none'"
)

INITIALIZER_SCRIPT = """\
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Swagger UI would send the document to its online validator for a badge.
    validatorUrl: null,
    // No "Try it out": a webhook must be signed as its provider signs it (`webhooks send`
    // does), and the API, like API Gateway's, answers no cross-origin request.
    supportedSubmitMethods: [],
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
});
"""

INDEX_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: API docs</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/initializer.js"></script>
</body>
</html>
"""


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def static_folder() -> Path | None:
    """swagger-ui-py's static files, found without importing the package: its
    __init__ loads the framework handlers and Jinja, none of which is used here."""
    spec = importlib.util.find_spec(STATIC_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if folder.is_dir() else None


class ApiDocs:
    def __init__(self, openapi_path: Path, *, api_url: str | None = None) -> None:
        document = json.loads(openapi_path.read_text(encoding="utf-8"))
        if api_url is not None:
            document["servers"] = [{"url": api_url, "description": "the local stack"}]
        title = html.escape(str(document.get("info", {}).get("title", "API")))
        # Everything but Swagger UI's own files is made once: the answers never change.
        self._fixed = {
            DOCS: Response(308, "text/plain; charset=utf-8", b"", {"Location": DOCS + "/", **NOSNIFF}),
            DOCS + "/": Response(200, HTML, INDEX_PAGE.format(title=title).encode(), _headers(NO_CACHE, page=True)),
            f"{DOCS}/{INITIALIZER}": Response(200, JAVASCRIPT, INITIALIZER_SCRIPT.encode(), _headers(NO_CACHE)),
            OPENAPI: Response(200, JSON, json.dumps(document, indent=2).encode(), _headers(NO_CACHE)),
        }
        self._static = static_folder()

    def respond(self, path: str) -> Response | None:
        """The answer for a request path, or None when it is not a docs path (a 404)."""
        path = path.split("?", 1)[0].split("#", 1)[0]
        fixed = self._fixed.get(path)
        if fixed is not None:
            # Its own headers: a caller that adds one must not change the next answer.
            return replace(fixed, headers=dict(fixed.headers))
        name = path.removeprefix(DOCS + "/")
        if not path.startswith(DOCS + "/") or name not in ASSETS:
            return None
        if self._static is None:
            message = b"Swagger UI's files are not installed (swagger-ui-py, requirements/dev.txt): run `make install`"
            return Response(503, "text/plain; charset=utf-8", message, _headers(NO_CACHE))
        return Response(200, ASSETS[name], (self._static / name).read_bytes(), _headers(ASSET_CACHE))


def _headers(cache_control: str, *, page: bool = False) -> dict[str, str]:
    headers = {"Cache-Control": cache_control, **NOSNIFF}
    if page:
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return headers
