"""Where the project's files are, and its template read with CloudFormation's tags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from webhooks_cli.errors import CliError


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !GetAtt, !Sub, …) as their long forms."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path) -> dict[str, Any]:
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    except (OSError, yaml.YAMLError) as exc:
        raise CliError(f"cannot read the template {path}: {exc}") from exc
    if not isinstance(document, dict) or "Resources" not in document:
        raise CliError(f"{path} is not a CloudFormation template")
    return document


def find_root(start: Path | None = None) -> Path:
    """The project folder: WEBHOOKS_PROJECT_DIR, else the nearest folder up from here
    holding template.yaml and functions/."""
    configured = os.environ.get("WEBHOOKS_PROJECT_DIR")
    if configured:
        return Path(configured).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "template.yaml").is_file() and (folder / "functions").is_dir():
            return folder
    package_root = Path(__file__).resolve().parents[1]
    if (package_root / "template.yaml").is_file():
        return package_root
    raise CliError("no project found: run from the project folder or set WEBHOOKS_PROJECT_DIR")


@dataclass
class Project:
    root: Path
    _template: dict[str, Any] | None = field(default=None, repr=False)

    @classmethod
    def locate(cls) -> Project:
        return cls(find_root())

    @property
    def template(self) -> dict[str, Any]:
        if self._template is None:
            self._template = load_template(self.root / "template.yaml")
        return self._template

    def resource(self, logical_id: str) -> dict[str, Any]:
        try:
            return self.template["Resources"][logical_id]  # type: ignore[no-any-return]
        except KeyError:
            raise CliError(f"template.yaml has no resource {logical_id}") from None

    def parameter_default(self, name: str) -> Any:
        return self.template["Parameters"][name].get("Default")

    @property
    def sources_file(self) -> Path:
        return self.root / "functions" / "receiver" / "sources.json"

    @property
    def layer_dir(self) -> Path:
        return self.root / "layers" / "core"

    def function_dir(self, name: str) -> Path:
        return self.root / "functions" / name

    @property
    def local_state_file(self) -> Path:
        """Written by a running `webhooks dev`: its endpoint and resources, for the other commands."""
        configured = os.environ.get("WEBHOOKS_DEV_STATE_FILE")
        return Path(configured) if configured else self.root / ".webhooks-dev.json"

    @property
    def dev_secrets_file(self) -> Path:
        configured = os.environ.get("WEBHOOKS_DEV_SECRETS_FILE")
        return Path(configured) if configured else self.root / ".dev-secrets.json"
