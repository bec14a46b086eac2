"""The dev secrets `webhooks dev` generates: each in the form its provider issues, so every
source of the stack can verify from its first delivery (a secret its kind cannot use makes
the source answer 503 until someone sets one)."""

from __future__ import annotations

from pathlib import Path

from webhook_core.sources import Source
from webhooks_cli import devsecrets


def test_every_sources_generated_secret_is_a_key_its_kind_can_use(
    tmp_path: Path, fixture_sources: dict[str, Source]
) -> None:
    document = devsecrets.ensure(tmp_path / "dev-secrets.json", fixture_sources)
    unusable = [
        source.name
        for source in fixture_sources.values()
        if not any(
            key is not None for key in source.spec.scheme.derive_keys(devsecrets.active_secrets(document[source.name]))
        )
    ]
    assert unusable == []
