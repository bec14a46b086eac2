"""Shared code of the webhook receiver and processor, deployed as a Lambda layer.

Submodules are imported where they are used so that each function loads only
what its requests need.
"""

__version__ = "0.1.0"
