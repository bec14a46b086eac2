"""The inspector's HTTP server, on 127.0.0.1 only: server-rendered pages, a little
script that refreshes their lists, and forms that replay through the same code as the
CLI. Nothing it serves loads anything from elsewhere (its Content-Security-Policy says
so to the browser).

A page on 127.0.0.1 is reachable from any web page the operator's browser opens, by
a form post or, through DNS rebinding, by a name that resolves here. So every request
must name this server in its Host header, and every change (a POST) must come from
this server's own pages: the same origin, and a token only its pages carry."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
from botocore.exceptions import BotoCoreError, ClientError

from webhook_core.errors import WebhookError
from webhook_core.ledger import STATUSES, EventRecord, LedgerError
from webhooks_cli.apidocs import Response
from webhooks_cli.aws import describe
from webhooks_cli.dlq import Selection
from webhooks_cli.errors import CliError
from webhooks_cli.inspector import views
from webhooks_cli.operations import StackOperations
from webhooks_cli.terminal import printable

MAX_FORM_BYTES = 16 * 1024
# A browser's request arrives whole in milliseconds, and a page's refresh comes every 2 s.
IDLE_SECONDS = 10
STATIC = {"inspector.css": "text/css; charset=utf-8", "inspector.js": "text/javascript; charset=utf-8"}
PAGE_SECURITY = {
    # Only what this server serves: no script, style, font or image from anywhere else,
    # no inline script, no framing by another site, forms posting only here.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; object-src 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it, a browser sends "Origin: null" on this page's own form posts.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class DocsServer(Protocol):
    """What serves the API docs beside the pages (webhooks_cli.apidocs.ApiDocs):
    None for a path it does not serve."""

    def respond(self, path: str) -> Response | None: ...


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("webhooks_cli.inspector", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    # Ids, types and bodies come from whoever sent the request: control and bidi
    # characters are shown as escapes, as on the terminal, so one name cannot pose as another.
    environment.filters["printable"] = printable
    # A body is the sender's too, shown on its lines: the same escapes within each line.
    environment.filters["printable_lines"] = lambda text: "\n".join(
        "\t".join(printable(part) for part in line.split("\t")) for line in text.split("\n")
    )
    environment.filters["when"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S") + "Z" if moment else "—"
    environment.filters["clock"] = lambda moment: moment.strftime("%H:%M:%S") if moment else "—"
    environment.globals["quote"] = lambda value: urlencode({"id": value})
    return environment


class Inspector:
    """The inspector of one stack, served on http://127.0.0.1:`port`/."""

    def __init__(
        self,
        operations: StackOperations,
        *,
        host: str = "127.0.0.1",
        port: int = 3100,
        docs: DocsServer | None = None,
    ) -> None:
        self.operations = operations
        self.docs = docs
        self.token = secrets.token_urlsafe(24)
        # Who may open the pages at all: the printed link carries it (see _unlocked).
        self.key = secrets.token_urlsafe(24)
        self.templates = _environment()
        # One request at a time reaches the stack: two clicks on one button must not run a
        # handler twice, the code shared with the CLI keeps caches that are not thread-safe,
        # and a replay sets process-wide state while it runs. Pages are small and few.
        self._stack_access = threading.Lock()
        inspector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Each connection has a thread: one that stops sending part way (or stays idle
            # between requests) is closed after this long, not kept for as long as it likes.
            timeout = IDLE_SECONDS

            def do_GET(self) -> None:
                inspector.handle(self)

            # Every other method a client may send is refused (405), not left to the
            # base class's "501 Unsupported method", which says the server failed.
            do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = do_GET  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return  # the dev stack's output is for deliveries, not page loads

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="inspector", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def login_url(self) -> str:
        """The address its command prints: the key in it opens the pages in that browser."""
        return f"{self.url}?key={self.key}"

    @property
    def _cookie(self) -> str:
        # Cookies are kept per host, not per port: each inspector has a name of its own.
        return f"webhooks-inspector-{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which never started
            self.server.shutdown()
        self.server.server_close()

    # --- one request ------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        if request.command == "POST" or _has_body(request):
            # A body this server does not read (a post refused for its Host or Origin, a
            # chunked one, a GET's) would be parsed as the next request on a kept-alive
            # connection: one naming 127.0.0.1, past the Host check that refused the first.
            # So the connection ends with the answer; posts are rare (a replay's click).
            request.close_connection = True
        url = urlsplit(request.path)
        params = {name: values[-1] for name, values in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            response = self._checked(request, url.path, params)
        except CliError as exc:
            response = self._page("problem.html", status=_status_of(exc), message=exc.message)
        except (BotoCoreError, ClientError) as exc:
            response = self._page("problem.html", status=502, message=f"the stack did not answer: {describe(exc)}")
        except (LedgerError, WebhookError) as exc:
            response = self._page("problem.html", status=502, message=f"the stack did not answer: {exc.detail}")
        except Exception as exc:  # a fault of this page is said on it, not an empty reply
            logging.getLogger(__name__).exception("inspector fault on %s", url.path)
            response = Response(
                500, "text/plain; charset=utf-8", f"the inspector failed: {type(exc).__name__}\n".encode()
            )
        self._send(request, response)

    def _checked(self, request: BaseHTTPRequestHandler, path: str, params: dict[str, str]) -> Response:
        hosts = request.headers.get_all("Host") or [""]
        if len(hosts) != 1 or not self._host_is_ours(hosts[0]):
            return Response(421, "text/plain; charset=utf-8", b"this inspector answers only to its own address\n")
        if request.command not in ("GET", "HEAD", "POST"):
            return Response(405, "text/plain; charset=utf-8", b"GET, HEAD or POST only\n", {"Allow": "GET, HEAD, POST"})
        if not self._opens_without_key(path):
            refused = self._unlocked(request, path, params)
            if refused is not None:
                return refused
        if request.command == "POST":
            form = self._form(request)
            if form is None:
                return Response(403, "text/plain; charset=utf-8", b"refused: not a form from this inspector\n")
            return self._change(path, form)
        return self._read(path, params)

    def _read(self, path: str, params: dict[str, str]) -> Response:
        if path.startswith("/static/"):
            return self._static(path.removeprefix("/static/"))
        served = self.docs.respond(path) if self.docs is not None else None
        if served is not None:
            return served
        route = self._routes().get(path)
        if route is None:
            return self._page("problem.html", status=404, message=f"nothing at {path}")
        with self._stack_access:
            return route(params)

    def _opens_without_key(self, path: str) -> bool:
        """Its script, style and the API docs hold nothing of the stack's."""
        return path.startswith(("/static/", "/docs")) or path == "/openapi.json"

    def _unlocked(self, request: BaseHTTPRequestHandler, path: str, params: dict[str, str]) -> Response | None:
        """None when the request carries this inspector's key (its cookie), else the answer.
        Any user or process on this machine can reach 127.0.0.1; with `--stack` the pages
        act with the operator's AWS credentials, so only who has the printed link gets in.
        The link's key is swapped at once for a cookie scripts cannot read and other sites'
        requests do not carry, and the address bar keeps no key."""
        given = params.get("key")
        if given is not None and request.command == "GET" and _same(given, self.key):
            cookie = f"{self._cookie}={self.key}; HttpOnly; SameSite=Strict; Path=/"
            return Response(303, "text/plain; charset=utf-8", b"", {"Location": path, "Set-Cookie": cookie})
        cookies = SimpleCookie()
        try:
            cookies.load(request.headers.get("Cookie") or "")
        except CookieError:
            cookies = SimpleCookie()
        held = cookies.get(self._cookie)
        if held is not None and _same(held.value, self.key):
            return None
        return self._page(
            "problem.html",
            status=401,
            message="open the inspector from the link its command printed (inspector: http://127.0.0.1:…/?key=…): "
            "the key keeps other users of this machine out",
        )

    def _host_is_ours(self, host: str) -> bool:
        return host in {f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"[::1]:{self.port}"}

    def _form(self, request: BaseHTTPRequestHandler) -> dict[str, str] | None:
        """The posted form, if it came from one of this server's own pages."""
        origin = request.headers.get("Origin")
        if origin is not None and origin not in {f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"}:
            return None
        length_header = request.headers.get("Content-Length") or "0"
        if not length_header.isascii() or not length_header.isdigit() or int(length_header) > MAX_FORM_BYTES:
            request.close_connection = True
            return None
        try:
            raw = request.rfile.read(int(length_header)).decode("utf-8", "replace")
        except TimeoutError:  # a form that never arrives whole is no form
            request.close_connection = True
            return None
        form = {name: values[-1] for name, values in parse_qs(raw, keep_blank_values=True).items()}
        if not _same(form.get("token", ""), self.token):
            return None
        return form

    def _routes(self) -> dict[str, Callable[[dict[str, str]], Response]]:
        return {
            "/": lambda params: Response(302, "text/plain", b"", {"Location": "/events"}),
            "/events": self._events_page,
            "/events/rows": self._events_rows,
            "/event": self._event_page,
            "/event/record": self._event_record,
            "/event/replay": self._event_confirm,
            "/rejected": self._rejected_page,
            "/rejected/rows": self._rejected_rows,
            "/rejected/request": self._rejected_request_page,
            "/rejected/replay": self._rejected_confirm,
            "/dead-letters": self._dead_page,
            "/dead-letters/rows": self._dead_rows,
            "/dead-letters/replay": self._dead_confirm,
        }

    # --- pages ------------------------------------------------------------------

    def _page(self, template: str, *, status: int = 200, **values: Any) -> Response:
        values.setdefault("tab", "")
        page = self.templates.get_template(template).render(
            stack=self.operations.target.description,
            docs=self.docs is not None,
            token=self.token,
            statuses=STATUSES,
            windows=views.WINDOWS,
            **values,
        )
        return Response(status, "text/html; charset=utf-8", page.encode("utf-8"), dict(PAGE_SECURITY))

    def _events_page(self, params: dict[str, str]) -> Response:
        query = views.Query.parse(params)
        return self._page(
            "events.html",
            tab="events",
            query=query,
            rows=views.deliveries(self.operations, query),
            live="/events/rows?" + urlencode(params),
        )

    def _events_rows(self, params: dict[str, str]) -> Response:
        rows = views.deliveries(self.operations, views.Query.parse(params))
        return self._page("rows_events.html", rows=rows)

    def _event_page(self, params: dict[str, str]) -> Response:
        detail = views.event_detail(self.operations, _required(params, "id"), full=params.get("full") == "1")
        return self._page("event.html", tab="events", detail=detail)

    def _event_record(self, params: dict[str, str]) -> Response:
        detail = views.event_detail(self.operations, _required(params, "id"), full=False, with_body=False)
        return self._page("event_record.html", detail=detail)

    def _event_confirm(self, params: dict[str, str]) -> Response:
        detail = views.event_detail(self.operations, _required(params, "id"), full=False, with_body=False)
        back = "/event?" + urlencode({"id": detail.record.id})
        return self._page(
            "confirm.html",
            tab="events",
            action="event",
            subject=detail.record.id,
            seen=_version(detail.record),
            detail=detail,
            back=back,
        )

    def _rejected_page(self, params: dict[str, str]) -> Response:
        query = views.Query.parse(params)
        return self._page(
            "rejected.html",
            tab="rejected",
            query=query,
            rows=views.rejected(self.operations, query),
            live="/rejected/rows?" + urlencode(params),
        )

    def _rejected_rows(self, params: dict[str, str]) -> Response:
        return self._page("rows_events.html", rows=views.rejected(self.operations, views.Query.parse(params)))

    def _rejected_request_page(self, params: dict[str, str]) -> Response:
        detail = views.rejected_detail(self.operations, _required(params, "id"))
        return self._page("rejected_request.html", tab="rejected", detail=detail)

    def _rejected_confirm(self, params: dict[str, str]) -> Response:
        detail = views.rejected_detail(self.operations, _required(params, "id"))
        back = "/rejected/request?" + urlencode({"id": detail.request.id})
        return self._page(
            "confirm.html",
            tab="rejected",
            action="rejected",
            subject=detail.request.id,
            seen="",
            detail=detail,
            back=back,
        )

    def _dead_page(self, params: dict[str, str]) -> Response:
        query = views.Query.parse(params, window=views.DEAD_WINDOW)
        return self._page(
            "dead_letters.html",
            tab="dead",
            query=query,
            dead=views.dead_letters(self.operations, query),
            live="/dead-letters/rows?" + urlencode({"window": query.window, **params}),
        )

    def _dead_rows(self, params: dict[str, str]) -> Response:
        dead = views.dead_letters(self.operations, views.Query.parse(params, window=views.DEAD_WINDOW))
        return self._page("rows_events.html", rows=dead, dead_view=True)

    def _dead_confirm(self, params: dict[str, str]) -> Response:
        detail = views.event_detail(self.operations, _required(params, "id"), full=False, with_body=False)
        return self._page(
            "confirm.html",
            tab="dead",
            action="dead",
            subject=detail.record.id,
            seen=_version(detail.record),
            detail=detail,
            back="/dead-letters",
        )

    # --- changes (each asked for on a confirmation page first) --------------------

    def _change(self, path: str, form: dict[str, str]) -> Response:
        subject = _required(form, "id")
        with self._stack_access:
            if path == "/event/replay":
                record = self._unchanged_since_confirmed(subject, form.get("seen", ""))
                return self._replayed_event(record, force=form.get("force") == "1")
            if path == "/dead-letters/replay":
                self._unchanged_since_confirmed(subject, form.get("seen", ""))
                return self._replayed_dead_letter(subject)
            if path == "/rejected/replay":
                accepted = self.operations.rejections.replay(subject)
                return self._done(
                    "rejected", accepted.sentence(), back=("/rejected/request?" + urlencode({"id": subject}))
                )
        return self._page("problem.html", status=404, message=f"nothing to do at {path}")

    def _unchanged_since_confirmed(self, envelope_id: str, seen: str) -> EventRecord:
        """A confirmation is for the event as its page showed it. Reloading the Done page
        posts the form again, and so does a second tab on the same confirmation: by then
        the replay has moved the record on, and a forced replay would run it once more."""
        found = self.operations.events.find(envelope_id)
        if len(found) != 1:
            raise CliError(f"no event {envelope_id!r} in the ledger")
        if not seen or not _same(_version(found[0]), seen):
            raise CliError(
                f"event {envelope_id!r} changed since this replay was confirmed (replayed already?): "
                "open it again to see where it is and replay from there"
            )
        return found[0]

    def _replayed_event(self, record: EventRecord, *, force: bool) -> Response:
        """Replays the record the confirmation was checked against (read once, under the lock)."""
        report = self.operations.events.replay([record], rate=0, force=force)
        return self._report("events", report, record.id, verb="sent")

    def _replayed_dead_letter(self, envelope_id: str) -> Response:
        report = self.operations.dead_letters.replay(Selection(ids=(envelope_id,)), rate=0)
        if report.empty:
            raise CliError(
                f"no dead letter of {envelope_id!r} is in the dead-letter queue now "
                "(replayed or purged already?); `webhooks dlq list` shows them"
            )
        return self._report("dead", report, envelope_id, verb="moved to the main queue")

    def _report(self, tab: str, report: Any, envelope_id: str, *, verb: str) -> Response:
        lines = [f"{envelope_id}: {verb}" for envelope_id in report.sent]
        lines += [f"{envelope_id}: skipped, {reason}" for envelope_id, reason in report.skipped]
        lines += [f"{envelope_id}: failed, {reason}" for envelope_id, reason in report.failed]
        return self._done(tab, "; ".join(lines), back="/event?" + urlencode({"id": envelope_id}))

    def _done(self, tab: str, message: str, *, back: str) -> Response:
        return self._page("done.html", tab=tab, message=message, back=back)

    # --- plumbing ---------------------------------------------------------------

    def _static(self, name: str) -> Response:
        content_type = STATIC.get(name)
        if content_type is None:
            return self._page("problem.html", status=404, message="no such file")
        body = resources.files("webhooks_cli.inspector").joinpath("static", name).read_bytes()
        return Response(200, content_type, body, {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, response: Response) -> None:
        request.send_response(response.status)
        request.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(response.body)))
        if request.close_connection:
            request.send_header("Connection", "close")
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(response.body)


def _same(given: str, expected: str) -> bool:
    """In constant time, as bytes: compare_digest raises TypeError for a str holding non-ASCII."""
    return secrets.compare_digest(given.encode(), expected.encode())


def _version(record: EventRecord) -> str:
    """What changes whenever an event's record does (a replay, a delivery, an attempt)."""
    updated = record.updated_at.isoformat() if record.updated_at else ""
    return f"{record.status}|{record.attempts}|{record.deliveries}|{len(record.history)}|{updated}"


def _has_body(request: BaseHTTPRequestHandler) -> bool:
    return "Transfer-Encoding" in request.headers or (request.headers.get("Content-Length") or "0").strip() != "0"


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise views.BadRequestError(f"say which: ?{name}=…")
    return value


def _status_of(error: CliError) -> int:
    """A problem the operator can act on: 404 for what is not there, else 409 (it cannot
    be done now: already replayed, does not verify, …)."""
    if isinstance(error, views.BadRequestError):
        return 400
    text = error.message
    if text.startswith(("no ", "nothing ")) or "no longer" in text or "is kept" in text:
        return 404
    return 409
