"""What SAM CLI would give a function's container, computed by SAM CLI's own code
(Docker is not needed for these parts). Run with the SAM CLI's interpreter
(.venv-sam/bin/python, which the tests do not import from); standard library, samcli
and its flask only.

- `python sam_env.py TEMPLATE ENV_FILE FUNCTION...` prints a JSON object of each
  function's environment as `sam local invoke --env-vars ENV_FILE` resolves it.
- `python sam_env.py --apigw-event` reads {"method", "path", "query", "headers",
  "body_base64"} on standard input and prints the event `sam local start-api`
  sends the receiver for that request (`POST /webhooks/{source}`, binary */*).
"""

from __future__ import annotations

import json
import sys


def main(template: str, env_file: str, functions: list[str]) -> None:
    from samcli.commands.local.lib.local_lambda import LocalLambdaRunner  # type: ignore[import-not-found]
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider  # type: ignore[import-not-found]
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider  # type: ignore[import-not-found]

    stacks, _ = SamLocalStackProvider.get_stacks(template)
    provider = SamFunctionProvider(stacks)
    with open(env_file, encoding="utf-8") as handle:
        env_vars = json.load(handle)
    runner = LocalLambdaRunner(
        local_runtime=None,
        function_provider=provider,
        cwd=".",
        real_path=".",
        aws_region="us-east-1",
        env_vars_values=env_vars,
    )
    resolved = {name: runner._make_env_vars(provider.get(name)).resolve() for name in functions}
    json.dump(resolved, sys.stdout)


def apigw_event() -> None:
    import base64

    from flask import Flask, request
    from samcli.local.apigw.event_constructor import construct_v1_event  # type: ignore[import-not-found]

    given = json.load(sys.stdin)
    app = Flask(__name__)
    app.add_url_rule("/webhooks/<source>", endpoint="/webhooks/<source>", methods=["GET", "POST"])
    with app.test_request_context(
        given["path"],
        method=given["method"],
        query_string=given["query"],
        headers=given["headers"],
        data=base64.b64decode(given["body_base64"]),
    ):
        event = construct_v1_event(request, 3000, binary_types=["*/*"], stage_name="dev")
    json.dump(event, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1:] == ["--apigw-event"]:
        apigw_event()
    else:
        main(sys.argv[1], sys.argv[2], sys.argv[3:])
