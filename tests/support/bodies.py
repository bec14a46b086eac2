"""An in-memory body store (webhook_core.bodies.BodyStore), for logic tested without S3."""

from __future__ import annotations

from webhook_core.errors import BodyStoreError


class InMemoryBodyStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts = 0
        self.gets = 0
        self.fail_puts = 0  # the next this many puts fail, as S3 would

    def put(self, key: str, body: bytes) -> None:
        self.puts += 1
        if self.fail_puts:
            self.fail_puts -= 1
            raise BodyStoreError("put_object failed: InternalError")
        self.objects[key] = bytes(body)

    def get(self, key: str) -> bytes:
        self.gets += 1
        if key not in self.objects:
            raise BodyStoreError(f"get_object of {key} failed: NoSuchKey")
        return self.objects[key]
