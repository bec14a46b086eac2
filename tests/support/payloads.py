"""Large, realistic webhook bodies.

GitHub's push payload in its published shape (octokit/webhooks,
payload-examples/api.github.com/push), its `commits` list padded to the size
wanted: GitHub sends pushes of up to 25 MB. Commit messages carry non-ASCII text,
so a body's size in bytes is larger than its length in characters, as SQS (bytes)
and moto (characters) count differently.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

OWNER = {
    "name": "Codertocat",
    "email": "21031067+Codertocat@users.noreply.github.com",
    "login": "Codertocat",
    "id": 21031067,
    "node_id": "MDQ6VXNlcjIxMDMxMDY3",
    "avatar_url": "https://avatars1.githubusercontent.com/u/21031067?v=4",
    "url": "https://api.github.com/users/Codertocat",
    "html_url": "https://github.com/Codertocat",
    "type": "User",
    "site_admin": False,
}


def _commit(index: int) -> dict[str, Any]:
    sha = hashlib.sha1(f"commit {index}".encode(), usedforsecurity=False).hexdigest()
    person = {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com", "username": "Codertocat"}
    return {
        "id": sha,
        "tree_id": hashlib.sha1(f"tree {index}".encode(), usedforsecurity=False).hexdigest(),
        "distinct": True,
        "message": f"Commit {index}: corrige l'accès réseau — naïve café ✓ ünïcödé 日本語",
        "timestamp": "2019-05-15T15:20:30-05:00",
        "url": f"https://github.com/Codertocat/Hello-World/commit/{sha}",
        "author": person,
        "committer": person,
        "added": [f"src/module_{index}/new_file.py"],
        "removed": [],
        "modified": [f"src/module_{index}/handler.py", "README.md"],
    }


def github_push(size: int) -> bytes:
    """A push event of at most `size` bytes, within two commits' length of it."""
    document: dict[str, Any] = {
        "ref": "refs/heads/main",
        "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": "https://github.com/Codertocat/Hello-World/compare/6113728f27ae...0d1a26e67d8f",
        "commits": [],
        "head_commit": None,
        "repository": {
            "id": 186853002,
            "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
            "name": "Hello-World",
            "full_name": "Codertocat/Hello-World",
            "private": False,
            "owner": OWNER,
            "html_url": "https://github.com/Codertocat/Hello-World",
            "default_branch": "main",
        },
        "pusher": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com"},
        "sender": OWNER,
    }
    document["head_commit"] = _commit(10**9)
    empty = len(json.dumps(document, ensure_ascii=False).encode())
    one = len(json.dumps(_commit(10**9), ensure_ascii=False).encode()) + 2
    document["commits"] = [_commit(index) for index in range(max(1, (size - empty) // one))]
    document["head_commit"] = document["commits"][-1]
    return json.dumps(document, ensure_ascii=False).encode()


def padded_json(document: dict[str, Any], size: int) -> bytes:
    """`document` with a `padding` string that brings it to exactly `size` bytes."""
    base = len(json.dumps({**document, "padding": ""}).encode())
    if size < base:
        raise ValueError(f"{size} bytes is smaller than the document itself ({base})")
    return json.dumps({**document, "padding": "x" * (size - base)}).encode()
