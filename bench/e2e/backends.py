"""Where the benchmark's backups go: per storage backend, the storage section of our config, the
environment that carries its credentials, and the stored size of a backup set (measured from the
server's own listing, then deleted so a full run needs memory and disk for one set at a time).

Backends: the filesystem, the harness's S3 server (versitygw), Azurite (Azure Blob) and
fake-gcs-server (GCS JSON API); the last two keep objects in memory.
"""
from __future__ import annotations

import json
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests/harness"))
import azurite  # noqa: E402 - tests/harness/azurite.py: SharedKey requests, independent of our signer

ALL = ["filesystem", "s3", "azure", "gcs"]
LIST_PAGES = 10_000  # bound on listing pages (1,000 names each)


def available(env: dict, name: str) -> bool:
    return name == "filesystem" or bool(env.get(name))  # env.json's key is the backend's name


def dir_size(d: Path, free: bool) -> int | None:
    """Bytes of the files under `d` (None when it does not exist); removes it when `free`."""
    if not d.is_dir():
        return None
    total = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
    if free:
        shutil.rmtree(d, ignore_errors=True)
    return total


class Backend:
    """One backend of one harness; `store_root` is where filesystem sets go."""

    def __init__(self, name: str, env: dict, store_root: Path):
        self.name, self.env, self.store_root = name, env, store_root
        self.conf = env.get(name, {}) if name != "filesystem" else {}

    def storage(self, bid: str) -> dict:
        c = self.conf
        if self.name == "filesystem":
            return {"backend": "filesystem", "path": str(self.store_root / bid)}
        if self.name == "s3":
            return {"backend": "s3", "bucket": c["bucket"], "endpoint": c["endpoint"], "region": c["region"],
                    "path_style": True, "prefix": f"bench/{bid}", "access_key": c["access_key"],
                    "secret_key": c["secret_key"]}
        if self.name == "azure":  # the account key comes from AZURE_STORAGE_KEY (env_extra)
            return {"backend": "azure", "account_name": c["account"], "container_name": c["container"],
                    "endpoint": c["endpoint"], "prefix": f"bench/{bid}"}
        return {"backend": "gcs", "bucket": c["bucket"], "prefix": f"bench/{bid}"}  # STORAGE_EMULATOR_HOST

    def env_extra(self) -> dict:
        if self.name == "azure":
            return {"AZURE_STORAGE_KEY": self.conf["account_key"]}
        if self.name == "gcs":
            return {"STORAGE_EMULATOR_HOST": self.conf["emulator_host"]}
        return {}

    def stored(self, bid: str, free: bool) -> int | None:
        """Bytes the backup set `bid` occupies on the server; deletes it when `free`."""
        if self.name == "filesystem":
            return dir_size(self.store_root / bid, free)
        if self.name == "s3":
            # versitygw's posix backend keeps a set's objects as files under its data directory.
            if "log" not in self.conf:
                return None
            return dir_size(Path(self.conf["log"]).parent / "data" / self.conf["bucket"] / "bench" / bid, free)
        objects = self._azure_objects(f"bench/{bid}/") if self.name == "azure" else self._gcs_objects(f"bench/{bid}/")
        if free:
            for name, _ in objects:
                self._delete(name)
        return sum(size for _, size in objects) if objects else None

    # --- per server ---
    def _azure_objects(self, prefix: str) -> list[tuple[str, int]]:
        c, out, marker = self.conf, [], ""
        for _ in range(LIST_PAGES):
            url = (f"{c['blob_endpoint']}/{c['container']}?restype=container&comp=list"
                   f"&prefix={urllib.parse.quote(prefix, safe='')}"
                   + (f"&marker={urllib.parse.quote(marker, safe='')}" if marker else ""))
            status, body = azurite.request("GET", url, c["account"], c["account_key"])
            if status != 200:
                raise RuntimeError(f"Azurite listing of {prefix} answered {status}: {body[:200]!r}")
            root = ET.fromstring(body)
            for b in root.iter("Blob"):
                out.append((b.findtext("Name"), int(b.findtext("Properties/Content-Length") or 0)))
            marker = root.findtext("NextMarker") or ""
            if not marker:
                return out
        raise RuntimeError(f"Azurite listing of {prefix} did not end within {LIST_PAGES} pages")

    def _gcs_objects(self, prefix: str) -> list[tuple[str, int]]:
        c, out, token = self.conf, [], ""
        for _ in range(LIST_PAGES):
            q = {"prefix": prefix, "maxResults": "1000", **({"pageToken": token} if token else {})}
            url = f"{c['endpoint']}/storage/v1/b/{c['bucket']}/o?" + urllib.parse.urlencode(q)
            with urllib.request.urlopen(url, timeout=30) as r:
                page = json.loads(r.read())
            out += [(o["name"], int(o["size"])) for o in page.get("items", [])]
            token = page.get("nextPageToken", "")
            if not token:
                return out
        raise RuntimeError(f"GCS listing of {prefix} did not end within {LIST_PAGES} pages")

    def _delete(self, name: str) -> None:
        c = self.conf
        if self.name == "azure":
            url = f"{c['blob_endpoint']}/{c['container']}/{urllib.parse.quote(name)}"
            status, body = azurite.request("DELETE", url, c["account"], c["account_key"])
            if status not in (202, 404):
                raise RuntimeError(f"Azurite DELETE {name} answered {status}: {body[:200]!r}")
            return
        url = f"{c['endpoint']}/storage/v1/b/{c['bucket']}/o/{urllib.parse.quote(name, safe='')}"
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30).close()
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise
