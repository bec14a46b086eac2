"""`webhooks`: the operator CLI (local stack, signed test deliveries, dead letters).

Never deployed: nothing in functions/ or layers/ imports it.
"""

__version__ = "0.1.0"
