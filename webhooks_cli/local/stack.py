"""`webhooks dev`: the whole pipeline in one process on 127.0.0.1 (README, "Two-minute tour")."""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from webhook_core import certificates, observability
from webhook_core.certificates import CertificateFetcher
from webhook_core.errors import ConfigurationError
from webhook_core.registry import default_registry
from webhook_core.sources import load_sources
from webhooks_cli import devsecrets
from webhooks_cli.apidocs import ApiDocs
from webhooks_cli.errors import CliError
from webhooks_cli.inspector.server import Inspector
from webhooks_cli.local.emulator import Emulator
from webhooks_cli.local.function_logs import take_over
from webhooks_cli.local.gateway import Answered, Gateway, Route
from webhooks_cli.local.persistence import (
    AUTOSAVE_SECONDS,
    STATE_FOLDER,
    Autosave,
    Restored,
    Snapshot,
    Snapshotter,
    StateFolder,
)
from webhooks_cli.local.poller import Poller, RecordOutcome
from webhooks_cli.local.resources import (
    create_resources,
    declared_variables,
    event_source,
    function_environment,
)
from webhooks_cli.local.running import ProjectClaim
from webhooks_cli.local.runtime import LocalFunction, load_function
from webhooks_cli.local.samlocal import DESKTOP, FUNCTIONS, LOOPBACK, SamNetwork, env_vars
from webhooks_cli.operations import StackOperations
from webhooks_cli.project import Project
from webhooks_cli.provider_keys import LocalProviderHosts, ProviderKey
from webhooks_cli.targets import Resources, local_target, write_local_state

REGION = "us-east-1"
# How often the sources file is looked at for an edit.
SOURCES_CHECK_SECONDS = 1.0
# The emulator accepts any credentials; these keep boto3 from looking for real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass
class DevOptions:
    port: int = 3000
    aws_port: int = 4566
    visibility_timeout: int = 5
    aws_only: bool = False
    verbose: bool = False
    chaos: float = 0.0
    # With aws_only: where the emulator listens and how SAM's containers reach it.
    sam_network: SamNetwork | None = None
    # Forget the state a previous run kept (persistence) and start clean.
    fresh: bool = False
    # The inspector page (and the API docs); None: not served.
    inspector_port: int | None = 3100


def port_refused(error: OSError, port: int, option: str, host: str = LOOPBACK) -> CliError:
    """A port that cannot be listened on, said with the option that changes it."""
    if error.errno == errno.EADDRINUSE:
        return CliError(f'port {port} is in use: make dev ARGS="{option} {port + 1}"')
    return CliError(f"cannot listen on {host}:{port} ({option}): {error.strerror or error}")


def _file_version(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


class LocalStack:
    def __init__(
        self,
        project: Project,
        options: DevOptions,
        *,
        on_request: Callable[[Answered], None] | None = None,
        on_record: Callable[[RecordOutcome], None] | None = None,
        on_dead_letter: Callable[[RecordOutcome], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.project = project
        self.on_notice = on_notice
        self.options = options
        self._undo_chaos: Callable[[], None] | None = None
        self.on_request = on_request
        self.on_record = on_record
        self.on_dead_letter = on_dead_letter
        self._give_back_logs: Callable[[], None] | None = None
        self._give_back_certificates: Callable[[], None] | None = None
        self.on_error = on_error
        self.emulator: Emulator | None = None
        self.gateway: Gateway | None = None
        self.inspector: Inspector | None = None
        self.poller: Poller | None = None
        self.resources: Resources | None = None
        self.secrets: dict[str, Any] = {}
        self.environment: dict[str, str] = {}
        self.function_environments: dict[str, dict[str, str]] = {}
        self.aws_endpoint = ""
        self.state_file: Path | None = None
        self.saved_state = StateFolder(project.root / STATE_FOLDER)
        self.claim = ProjectClaim(self.saved_state.path)
        # What the start put back from saved_state (None: it started clean).
        self.restored: Restored | None = None
        # Set once the saved state is restored or cleared: until then, a stop must not
        # write over a snapshot it could not read.
        self.keeps_state = False
        self._snapshotter: Snapshotter | None = None
        self._autosave: Autosave | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        # A mistake in the sources file is said before anything starts, in one line.
        try:
            sources = load_sources(self.project.sources_file)
        except ConfigurationError as exc:
            raise CliError(str(exc)) from None
        self.claim.take()  # before the state folder is read or written (running.py says why)
        self._start_emulator()
        session = boto3.session.Session(region_name=REGION)
        self.resources, resolve = create_resources(self.project, session)
        snapshot = self._restore_state(session)

        self.secrets = devsecrets.ensure(
            self.project.dev_secrets_file, sources, saved=self._saved_source_secrets(session, snapshot)
        )
        session.client("secretsmanager").put_secret_value(
            SecretId=self.resources.secret_id, SecretString=json.dumps(self.secrets)
        )
        self._autosave = Autosave(self.save_state, every=AUTOSAVE_SECONDS, on_error=self._report_error)
        self._autosave.start()

        if self.options.chaos:
            from webhooks_cli.local.chaos import Chaos  # noqa: PLC0415 - only with --chaos

            self.chaos = Chaos(
                self.options.chaos,
                ledger_table=self.resources.ledger_table,
                queue_url=self.resources.queue_url,
                body_bucket=self.resources.body_bucket,
            )
            self._undo_chaos = self.chaos.install()

        # Each function's environment as the template sets it (what `sam local` gets, with the endpoint).
        self.function_environments = {
            function: function_environment(self.project, resolve, function) for function in FUNCTIONS
        }
        self.environment = {
            **self.function_environments["ReceiverFunction"],
            **self.function_environments["ProcessorFunction"],
            **self._local_environment(),
        }
        # Each function's own (receiver, processor): its invocations carry it (runtime.Invocation).
        self.environment.pop("POWERTOOLS_SERVICE_NAME", None)
        os.environ.update(self.environment)
        self._give_back_logs = take_over(
            observability.logger, verbose=self.options.verbose, metrics=observability.metrics
        )
        if self.options.aws_only:
            self._announce()
            return

        self._give_back_certificates = self._serve_provider_certificates()
        receiver = self._load("ReceiverFunction", "receiver")
        processor = self._load("ProcessorFunction", "processor")
        # Each function's cold start now, on the sources just checked: an edit of sources.json
        # that cannot be used then leaves these serving (see _reload_sources).
        for function, cold_start in ((receiver, "get_receiver"), (processor, "get_processor")):
            start = getattr(getattr(function, "module", None), cold_start, None)
            if start is not None:
                start()
        self._handler_files = self._processor_files()
        api_properties = self.project.resource("WebhookApi")["Properties"]
        api = {key: resolve(api_properties[key]) for key in ("StageName", "BinaryMediaTypes") if key in api_properties}
        routes = [
            Route.of(definition["Properties"]["Method"], definition["Properties"]["Path"])
            for definition in self.project.resource("ReceiverFunction")["Properties"]["Events"].values()
            if definition["Type"] == "Api"
        ]
        try:
            self.gateway = Gateway(
                receiver,
                routes,
                stage=str(api.get("StageName", "dev")),
                binary_media_types=list(api.get("BinaryMediaTypes", [])),
                port=self.options.port,
                on_request=self.on_request,
            )
        except OSError as exc:
            raise port_refused(exc, self.options.port, "--port") from None
        mapping = event_source(self.project, resolve)
        self.poller = Poller(
            session.client("sqs"),
            processor,
            queue_url=self.resources.queue_url,
            queue_arn=self.resources.queue_arn,
            region=REGION,
            batch_size=int(mapping.get("BatchSize", 10)),
            batching_window=float(mapping.get("MaximumBatchingWindowInSeconds", 0)),
            visibility_timeout=self.options.visibility_timeout,
            on_record=self.on_record,
            on_error=self.on_error,
            before_batch=self._reload_edited_handlers,
            max_receives=self.max_receives,
            on_dead_letter=self.on_dead_letter,
        )
        self.inspector = self._inspector()
        self.gateway.start()
        self.poller.start()
        if self.inspector is not None:
            self.inspector.start()
        self._sources_watch = threading.Thread(target=self._watch_sources, name="sources-watch", daemon=True)
        self._sources_watch.start()
        self._announce()

    def _inspector(self) -> Inspector | None:
        """The inspector of this stack, through the same code as `webhooks --stack`'s commands."""
        if self.options.inspector_port is None:
            return None
        assert self.resources is not None
        target = local_target(
            self.project, self.aws_endpoint, self.resources, api_url=self.url if self.gateway else None
        )
        document = self.project.root / "openapi.json"
        # A project without its OpenAPI document (`make openapi` writes it) has no docs to serve.
        docs = ApiDocs(document, api_url=self.url) if document.is_file() else None
        try:
            return Inspector(StackOperations(target, self.project), port=self.options.inspector_port, docs=docs)
        except OSError as exc:
            raise port_refused(exc, self.options.inspector_port, "--inspector-port") from None

    def _announce(self) -> None:
        """Tell the other commands (and a second `webhooks dev`) where this stack runs."""
        assert self.resources is not None
        url = self.url if self.gateway else None
        self.state_file = write_local_state(self.project, self.aws_endpoint, self.resources, url=url)
        self.claim.update(url=url, aws_endpoint=self.aws_endpoint)

    def stop(self) -> None:
        if self._undo_chaos is not None:
            self._undo_chaos()
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)
        if self.poller:
            self.poller.stop()
        if self.gateway:
            self.gateway.stop()
        if self.inspector is not None:
            self.inspector.stop()
        # Nothing else writes now: what the emulator holds is what the next start gets back.
        self._save_final_state()
        if self.emulator:
            self.emulator.stop()
        if self._give_back_logs is not None:
            self._give_back_logs()
        if self._give_back_certificates is not None:
            self._give_back_certificates()
        self.claim.release()

    def _serve_provider_certificates(self) -> Callable[[], None]:
        """SNS's and PayPal's certificate URLs that `webhooks send` names, answered with the
        local stand-in key (webhooks_cli.provider_keys); the function returned puts the
        process's fetcher back."""
        key = ProviderKey.load_or_create(ProviderKey.path_beside(self.project.dev_secrets_file))
        previous = certificates.install(CertificateFetcher(LocalProviderHosts(key)))

        def give_back() -> None:
            certificates.install(previous)

        return give_back

    @property
    def max_receives(self) -> int:
        """The events queue's maxReceiveCount, as the template sets it."""
        return int(self.project.parameter_default("MaxReceiveCount") or 5)

    def save_state(self) -> bool:
        """Snapshot the emulator into saved_state; True when the file changed."""
        if self._snapshotter is None:
            return False
        return self.saved_state.save(self._snapshotter.capture())

    def _restore_state(self, session: Any) -> Snapshot | None:
        """Put back what the last run kept (unless --fresh); the snapshot restored, if any."""
        self._snapshotter = Snapshotter(session, region=REGION)
        if self.options.fresh:
            self.saved_state.clear()
        snapshot = self.saved_state.load()
        if snapshot is not None:
            self.restored = self._snapshotter.restore(snapshot)
        self.keeps_state = True
        return snapshot

    def _saved_source_secrets(self, session: Any, snapshot: Snapshot | None) -> dict[str, Any] | None:
        """The source secrets document as the last run held it: it wins over the dev
        secrets file, which only seeds a fresh start (`webhooks secrets set` may have
        changed it since)."""
        if snapshot is None or self.resources is None:
            return None
        name = session.client("secretsmanager").describe_secret(SecretId=self.resources.secret_id)["Name"]
        value = snapshot.secrets.get(name)
        try:
            document = json.loads(value) if isinstance(value, str) else None
        except ValueError:  # not a JSON object: the receiver could not use it either
            return None
        return document if isinstance(document, dict) else None

    def _save_final_state(self) -> None:
        if self._autosave is not None:
            self._autosave.stop()
        if not self.keeps_state:
            return
        try:
            self.save_state()
        except (OSError, BotoCoreError, ClientError) as exc:
            self.keeps_state = False
            self._report_error(f"saving the state to {self.saved_state.path} failed: {exc}; the last snapshot stays")

    def _report_error(self, message: str) -> None:
        if self.on_error:
            self.on_error(message)

    @property
    def url(self) -> str:
        port = self.gateway.port if self.gateway else self.options.port
        return f"http://127.0.0.1:{port}"

    def _start_emulator(self) -> None:
        try:
            self.emulator = Emulator(host=self.bind, port=self.options.aws_port)
        except OSError as exc:
            raise port_refused(exc, self.options.aws_port, "--aws-port", host=self.bind) from None
        self.emulator.start()
        self.aws_endpoint = self.emulator.endpoint
        os.environ.update(self._local_environment())

    def _local_environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            **LOCAL_CREDENTIALS,
            # Metrics would print an EMF blob per request; the readable lines say the same
            # (function_logs sets what the functions' logger shows).
            "POWERTOOLS_METRICS_DISABLED": "false" if self.options.verbose else "true",
            # A rotated secret (`webhooks secrets set`) takes effect at once locally.
            "SECRETS_CACHE_SECONDS": "1",
        }

    def _load(self, logical_id: str, folder: str) -> LocalFunction:
        properties = self.project.resource(logical_id)["Properties"]
        globals_function = self.project.template.get("Globals", {}).get("Function", {})
        return load_function(
            folder,
            code_dir=self.project.function_dir(folder),
            layer_dir=self.project.layer_dir,
            handler=str(properties.get("Handler", "app.lambda_handler")),
            timeout=float(properties.get("Timeout", globals_function.get("Timeout", 3))),
            memory=int(properties.get("MemorySize", globals_function.get("MemorySize", 128))),
            service=self.function_environments[logical_id].get("POWERTOOLS_SERVICE_NAME", ""),
        )

    def _watch_sources(self) -> None:
        """Edit sources.json while `webhooks dev` runs and the next delivery uses it, as
        an edited handler is used by the next batch (the receiver reads the file once per
        cold start: its cache is cleared)."""
        seen = _file_version(self.project.sources_file)
        while not self._stopped.wait(SOURCES_CHECK_SECONDS):
            current = _file_version(self.project.sources_file)
            if current != seen:
                seen = current
                self._reload_sources()

    def _reload_sources(self) -> None:
        shown = self.project.sources_file.name
        try:
            sources = load_sources(self.project.sources_file)
        except ConfigurationError as exc:
            self._report_error(f"{shown} changed but cannot be used, the previous sources stay: {exc}")
            return
        assert self.resources is not None
        try:
            secrets_manager = boto3.session.Session(region_name=REGION).client("secretsmanager")
            # What the receiver verifies with now (`webhooks secrets set` may have changed it).
            held = json.loads(secrets_manager.get_secret_value(SecretId=self.resources.secret_id)["SecretString"])
            added = sorted(set(sources) - set(held))
            self.secrets = devsecrets.ensure(self.project.dev_secrets_file, sources, saved=held)
            secrets_manager.put_secret_value(SecretId=self.resources.secret_id, SecretString=json.dumps(self.secrets))
        except (BotoCoreError, ClientError, ValueError, OSError) as exc:
            self._report_error(f"{shown} changed but its dev secrets could not be set: {exc}")
            return
        for function in (
            self.gateway.function if self.gateway else None,
            self.poller.function if self.poller else None,
        ):
            for cached in ("get_receiver", "get_processor"):
                clear = getattr(getattr(function, "module", None), cached, None)
                if clear is not None:
                    clear.cache_clear()
        new = f"; new: {', '.join(added)} (`{self.project.dev_secrets_file.name}` has their secrets)" if added else ""
        if self.on_notice:
            self.on_notice(f"{shown} changed: reloaded, {len(sources)} sources{new}")

    def _processor_files(self) -> dict[Path, float]:
        folder = self.project.function_dir("processor")
        return {path: path.stat().st_mtime for path in sorted(folder.rglob("*.py"))}

    def _reload_edited_handlers(self) -> None:
        """Edit a handler while `webhooks dev` runs and the next batch uses it: the
        queues keep their messages, so a fix can be tried on what is dead-lettered."""
        current = self._processor_files()
        if current == self._handler_files or self.poller is None:
            return
        self._handler_files = current
        default_registry.clear()
        for name in [
            name
            for name in sys.modules
            if name == "handlers" or name.startswith(("handlers.", "local_functions.processor"))
        ]:
            del sys.modules[name]
        try:
            self.poller.function = self._load("ProcessorFunction", "processor")
        except Exception as exc:  # noqa: BLE001 - a syntax error in an edit must not stop the stack
            if self.on_error:
                self.on_error(f"reloading the handlers failed: {type(exc).__name__}: {exc}")
            return
        if self.on_notice:
            self.on_notice("handlers changed on disk: reloaded")

    @property
    def bind(self) -> str:
        network = self.options.sam_network
        return network.bind if network and self.options.aws_only else LOOPBACK

    @property
    def container_endpoint(self) -> str:
        """The emulator as SAM's containers reach it."""
        network = self.options.sam_network or SamNetwork(DESKTOP, LOOPBACK)
        return f"http://{network.container_host}:{self.aws_endpoint.rsplit(':', 1)[1]}"

    def sam_env_vars(self) -> dict[str, dict[str, str]]:
        """The env-vars file for `sam local invoke/start-api`: each function's declared
        variables as the template sets them, pointed at this emulator, every URL of the
        emulator as the containers reach it (samlocal)."""
        return {
            function: env_vars(
                {**variables, "AWS_ENDPOINT_URL": self.aws_endpoint},
                {function: declared_variables(self.project, function)},
                self.aws_endpoint,
                self.container_endpoint,
            )[function]
            for function, variables in self.function_environments.items()
        }
