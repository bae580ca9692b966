#!/usr/bin/env python3
"""Writes the seed corpora of the text and response fuzz targets from material that is already
committed and checked elsewhere: the protocol golden fixtures (bytes from Apache Kafka's own
serializers), the v1 format fixtures, the example and test configs, and a few documented cloud
answers. Re-run after adding fixtures: `python3 tests/fuzz/make_seeds.py` (idempotent)."""
import hashlib
import json
from pathlib import Path

root = Path(__file__).resolve().parents[2]


def put(folder: Path, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def response_seeds() -> None:
    out = root / "tests/protocol/corpus/responses"
    for path in sorted((root / "tests/protocol/golden/messages").glob("*.json")):
        doc = json.loads(path.read_text())
        for case in doc.get("response", {}).values():
            raw = bytes.fromhex(case["hex"])
            header = 4 if case["header_version"] == 0 else 5  # correlation id (+ empty tagged fields)
            put(out, bytes([doc["api_key"]]) + raw[header:])


def manifest_seeds() -> None:
    out = root / "tests/storage/format/corpus/manifests"
    for path in sorted((root / "tests/storage/format/fixtures/v1").rglob("*.json")):
        put(out, path.read_bytes())
    put(out, b"00000000000000000000-00000000000000000109.kbs")


CLOUD = [
    b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Name>b</Name><Prefix>p/</Prefix><KeyCount>1</KeyCount><IsTruncated>false</IsTruncated>"
    b"<Contents><Key>p/backup.json</Key><Size>120</Size><ETag>\"x\"</ETag></Contents></ListBucketResult>",
    b"<ListMultipartUploadsResult><Upload><Key>p/a.kbs</Key><UploadId>u1</UploadId>"
    b"<Initiated>2026-12-06T18:25:10.123Z</Initiated></Upload></ListMultipartUploadsResult>",
    b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>",
    b'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="c"><Prefix>p/</Prefix>'
    b"<Blobs><Blob><Name>p/backup.json</Name><Properties><Content-Length>12</Content-Length></Properties></Blob>"
    b"<BlobPrefix><Name>p/topics/</Name></BlobPrefix></Blobs><NextMarker/></EnumerationResults>",
    b"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
    b"<AccessKeyId>AKIDEXAMPLE</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>"
    b"<Expiration>2026-12-06T19:40:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
    b"</AssumeRoleWithWebIdentityResponse>",
    b'{"access_token":"t","expires_in":"3599","expires_on":"1796000000","token_type":"Bearer"}',
    b'{"access_token":"t","expires_in":3599,"token_type":"Bearer"}',
    b'{"type":"service_account","client_email":"a@b.iam","private_key":"-----BEGIN PRIVATE KEY-----\\n",'
    b'"token_uri":"http://127.0.0.1:1/token"}',
    b'{"Code":"Success","AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"s","Token":"t",'
    b'"Expiration":"2026-12-06T19:40:00Z"}',
    b"[default]\naws_access_key_id = AKIDEXAMPLE\n# comment\n[profile p]\nrole_arn=arn:aws:iam::1:role/r\n",
    b"2026-12-06T19:40:00+00:00",
]


def cloud_seeds() -> None:
    out = root / "tests/storage/corpus/cloud_responses"
    for seed in CLOUD:
        put(out, seed)


def config_seeds() -> None:
    out = root / "tests/cli/corpus/config"
    for path in sorted(list((root / "tests/cli/data").glob("*.yaml")) + list((root / "examples").rglob("*.yaml"))):
        put(out, path.read_bytes())
    put(out, b"mode: backup\nbackup_id: ${KB_FUZZ_SET}\nsource: {bootstrap_servers: [127.0.0.1:9092], "
             b"topics: {include: ['a*']}}\nstorage: {backend: filesystem, path: /tmp/x}\n"
             b"workers: {group_id: g}\n")


if __name__ == "__main__":
    response_seeds()
    manifest_seeds()
    cloud_seeds()
    config_seeds()
