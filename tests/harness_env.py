"""The harness's env.json as the tests hold it: a dict whose repr — what pytest prints for a
fixture argument in a failure's traceback — leaves out the users' passwords and storage keys."""
from __future__ import annotations

import json
from pathlib import Path

# Keys whose string values are secrets (users' passwords live under "users").
_SECRET_KEYS = ("password", "secret", "account_key", "token")


class HarnessEnv(dict):
    def __repr__(self) -> str:
        return f"<harness env.json profile={self.get('profile')} run_dir={self.get('run_dir')}>"


def load(path: str | Path) -> HarnessEnv:
    return HarnessEnv(json.loads(Path(path).read_text()))


def secrets(env: dict) -> list[str]:
    """Every secret value in env.json (for tests that check nothing printed one)."""
    out = [v for v in env.get("users", {}).values() if isinstance(v, str) and v]

    def walk(node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, str) and v and any(s in k.lower() for s in _SECRET_KEYS):
                    out.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(env)
    return out
