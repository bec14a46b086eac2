from __future__ import annotations

from pathlib import Path

import pytest

from webhook_core.errors import ConfigurationError
from webhook_core.settings import ReceiverSettings

REQUIRED = {
    "SOURCE_SECRETS_ID": "arn:aws:secretsmanager:us-east-1:1:secret:s",
    "LEDGER_TABLE_NAME": "ledger",
    "EVENTS_QUEUE_URL": "https://sqs.example/q",
    "BODY_BUCKET_NAME": "bodies",
}


def test_settings_come_from_the_environment_with_defaults() -> None:
    settings = ReceiverSettings.from_environment({**REQUIRED, "MAX_BODY_BYTES": "1000"}, Path("s.json"))
    assert settings.ledger_table == "ledger"
    assert settings.max_body_bytes == 1000
    assert settings.retention_seconds == 21 * 86_400
    assert settings.sources_file == Path("s.json")


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({k: v for k, v in REQUIRED.items() if k != "LEDGER_TABLE_NAME"}, "LEDGER_TABLE_NAME"),
        ({**REQUIRED, "MAX_BODY_BYTES": "4669441"}, "MAX_BODY_BYTES"),
        ({k: v for k, v in REQUIRED.items() if k != "BODY_BUCKET_NAME"}, "BODY_BUCKET_NAME"),
        ({**REQUIRED, "RETENTION_DAYS": "ten"}, "RETENTION_DAYS"),
    ],
)
def test_a_bad_setting_names_the_environment_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        ReceiverSettings.from_environment(environ, Path("s.json"))
