"""Settings shared by every AWS client of the functions."""

from botocore.config import Config

# Fail fast: a stuck AWS call must become a 503 long before the receiver's 8 s timeout.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 2})
