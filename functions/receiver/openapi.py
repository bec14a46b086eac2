"""Print the receiver's OpenAPI document, generated from its routes (`make openapi`)."""

from __future__ import annotations

import sys

from functions.receiver.app import app
from webhook_core import __version__

TITLE = "Serverless webhook receiver"


def document() -> str:
    return app.get_openapi_json_schema(
        title=TITLE,
        version=__version__,
        description=(
            "POST a provider's webhook to /webhooks/{source}; the README's section "
            "'The receiver contract' lists every answer."
        ),
    )


if __name__ == "__main__":
    sys.stdout.write(document() + "\n")
