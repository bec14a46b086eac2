"""Settings shared by every AWS client of the functions."""

from botocore.config import Config

# Fail fast: a stuck AWS call must become a 503 long before the receiver's 8 s timeout.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 2})

# The receiver's per-delivery clients (the ledger's claim, the queue's send). Their
# requests are built by our code in fixed shapes that the tests send to DynamoDB and SQS
# (moto), so botocore's client-side check of every parameter against the service model
# repeats what the tests prove, at ~10% of a warm delivery's CPU (benchmarks/receiver.py:
# the claim's UpdateItem carries ~15 typed values). A request that were malformed anyway
# is refused by the service instead (a ClientError), which both callers already answer
# with a 503, as they do a ParamValidationError. Operator tools and the processor keep
# CLIENT_CONFIG: their requests can carry what a user typed.
HOT_PATH_CLIENT_CONFIG = CLIENT_CONFIG.merge(Config(parameter_validation=False))
