"""What SAM CLI would put in a function's container, computed by SAM CLI's own code.

Run with the SAM CLI's interpreter (.venv-sam/bin/python, which the tests do not
import from): `python sam_env.py TEMPLATE ENV_FILE FUNCTION...` prints a JSON object
of each function's environment as `sam local invoke --env-vars ENV_FILE` resolves it
(Docker is not needed for this part). Standard library and samcli only.
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


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
