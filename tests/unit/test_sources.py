"""The sources file: a bad one stops the function with a message naming the source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.project import FIXTURE_SOURCES
from webhook_core.errors import ConfigurationError
from webhook_core.sources import KINDS, load_sources, parse_sources


def test_the_fixture_file_has_one_source_per_kind_named_after_it() -> None:
    # The tests sign for a kind under its own name, and the kind vectors are made from these.
    sources = load_sources(FIXTURE_SOURCES)
    assert {name: source.kind for name, source in sources.items()} == {kind: kind for kind in KINDS}


def problem(document: object) -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse_sources(document)
    return str(caught.value)


def test_an_unknown_kind_names_the_source_and_the_known_kinds() -> None:
    message = problem({"sources": [{"name": "billing", "kind": "strpe"}]})
    assert "source 'billing'" in message
    assert "strpe" in message
    assert "'stripe'" in message


def test_a_duplicate_name_is_refused() -> None:
    message = problem({"sources": [{"name": "a", "kind": "stripe"}, {"name": "a", "kind": "github"}]})
    assert "duplicate source name 'a'" in message


def test_an_unknown_option_names_the_source_and_the_option() -> None:
    message = problem({"sources": [{"name": "gh", "kind": "github", "tolerance": 5}]})
    assert message.endswith("source 'gh': tolerance: unknown option")


def test_a_bad_option_value_names_the_source_and_the_option() -> None:
    message = problem({"sources": [{"name": "s", "kind": "stripe", "tolerance_seconds": 0}]})
    assert "source 's': tolerance_seconds:" in message


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"signed_content": "{timestamp}"}, "must include {body}"),
        ({"signed_content": "{body}{nonce}"}, "unknown placeholders ['nonce']"),
        ({"timestamp_header": "X-Ts"}, "is not signed"),
        ({"signed_content": "{timestamp}.{body}"}, "no timestamp header"),
        ({"signed_content": "{id}.{body}"}, "no id header"),
        ({"algorithm": "md5"}, "algorithm"),
        ({"header": "Bad Header"}, "header"),
    ],
)
def test_an_unsound_hmac_scheme_is_refused(options: dict[str, str], expected: str) -> None:
    message = problem({"sources": [{"name": "h", "kind": "hmac", "header": "X-Sig", **options}]})
    assert "source 'h'" in message
    assert expected in message


def test_every_bad_source_is_reported_at_once() -> None:
    message = problem(
        {"sources": [{"name": "a", "kind": "nope"}, {"kind": "stripe"}, {"name": "Bad Name", "kind": "stripe"}]}
    )
    assert "source 'a'" in message
    assert "source #2: name: Field required" in message
    assert "source 'Bad Name': name:" in message


@pytest.mark.parametrize("document", [[], {"sources": {}}, {"sources": []}, {"sources": [], "extra": 1}])
def test_a_malformed_file_is_refused(document: object) -> None:
    assert problem(document)


def test_a_missing_or_invalid_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        load_sources(tmp_path / "missing.json")
    broken = tmp_path / "sources.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        load_sources(broken)
    broken.write_text(json.dumps({"sources": [{"name": "ok", "kind": "github"}]}))
    assert list(load_sources(broken)) == ["ok"]


# --- presets ------------------------------------------------------------------------------


def test_a_preset_source_is_the_presets_kind_and_options_with_the_sources_own_on_top() -> None:
    sources = parse_sources(
        {
            "sources": [
                {"name": "lin", "preset": "linear"},
                {"name": "cal", "preset": "calendly", "tolerance_seconds": 60},
            ]
        }
    )
    linear = sources["lin"]
    assert (linear.kind, linear.preset.name if linear.preset else None) == ("hmac", "linear")
    assert linear.spec.scheme.signature_header == "linear-signature"
    assert linear.spec.docs.startswith("https://linear.app/")
    assert sources["cal"].spec.scheme.tolerance_seconds == 60


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"preset": "githb"}, "source 'x': preset: unknown preset 'githb' — did you mean 'github'?"),
        ({"preset": "linear", "prefx": "v1="}, "source 'x': prefx: unknown option — did you mean 'prefix'?"),
        ({"preset": "linear", "kind": "stripe"}, "source 'x': kind: preset 'linear' is of kind 'hmac', not 'stripe'"),
        ({"preset": "twilio"}, "source 'x': url: Field required"),
        ({"preset": "hubspot"}, "source 'x': signed_content uses {url} but no url is configured"),
        ({"preset": "calendly", "tolerance_seconds": 0}, "source 'x': tolerance_seconds:"),
        ({"preset": 7}, "source 'x': preset: unknown preset '7'"),
    ],
)
def test_a_wrong_preset_or_option_fails_closed_naming_the_source_and_the_option(
    item: dict[str, object], expected: str
) -> None:
    assert expected in problem({"sources": [{"name": "x", **item}]})


def test_every_preset_names_an_https_documentation_page_and_builds() -> None:
    from webhook_core.sources import presets

    assert len(presets()) >= 100
    for name, preset in presets().items():
        assert preset.docs.startswith("https://"), name
        assert preset.kind in KINDS, name


@pytest.mark.parametrize(
    ("source", "option"),
    [
        ({"kind": "token", "header": "X-Gitlab-Token", "id_header": "X-Gitlab-Token"}, "id_header"),
        ({"preset": "gitlab", "type_header": "x-gitlab-token"}, "type_header"),
        ({"preset": "gitlab", "keep_headers": ["X-Gitlab-Token"]}, "keep_headers"),
        ({"kind": "basic", "keep_headers": ["Authorization"]}, "keep_headers"),
        ({"preset": "okta", "id_header": "Authorization"}, "id_header"),
        ({"preset": "linear", "id_header": "Linear-Signature"}, "id_header"),
        ({"kind": "hmac", "header": "X-Sig", "keep_headers": ["Cookie"]}, "keep_headers"),
    ],
)
def test_a_credential_header_can_never_be_an_id_a_type_or_kept(source: dict[str, Any], option: str) -> None:
    """It would travel in the response id, the logs and the queue."""
    with pytest.raises(ConfigurationError) as caught:
        parse_sources({"sources": [{"name": "leaky", **source}]})
    assert "source 'leaky'" in str(caught.value)
    assert f"{option}:" in str(caught.value)
    assert "credential" in str(caught.value)


@pytest.mark.parametrize(
    ("source", "policy"),
    [
        ({"kind": "stripe"}, "id"),
        ({"kind": "standard"}, "id"),
        ({"preset": "twitch"}, "id"),
        ({"kind": "github"}, "digest"),
        ({"preset": "gitlab"}, "digest"),
        ({"kind": "basic", "id_path": "id"}, "digest"),
        ({"kind": "hmac", "header": "X-Sig", "id_header": "X-Id"}, "digest"),
        ({"kind": "hmac", "header": "X-Sig", "id_header": "X-Id", "signed_content": "{id}.{body}"}, "id"),
        ({"preset": "dropbox"}, "none"),
        ({"kind": "github", "dedupe": "none"}, "none"),
    ],
)
def test_each_source_gets_the_dedupe_policy_its_signature_allows(source: dict[str, Any], policy: str) -> None:
    (built,) = parse_sources({"sources": [{"name": "s", **source}]}).values()
    assert built.spec.dedupe == policy


def test_dedupe_on_an_id_the_signature_does_not_cover_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"source 's': dedupe: 'id' needs an event id the signature covers"):
        parse_sources({"sources": [{"name": "s", "kind": "github", "dedupe": "id"}]})
