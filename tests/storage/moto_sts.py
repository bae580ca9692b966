"""Runs moto's server (a real STS implementation) for the credential-chain tests, configured so
that the temporary credentials its STS hands out are the harness S3 user's key pair: versitygw
knows only that pair (and ignores session tokens), so a backup signed with what STS returned must
reach it. Run with the moto venv's python (scripts/install-deps.sh):

  KB_MOTO_TEMP_KEY_ID=... KB_MOTO_TEMP_SECRET=... python moto_sts.py PORT

Optional:
  KB_MOTO_DURATION_SECONDS  the lifetime of every STS session (default: what the caller asks, 1 h)
  KB_MOTO_SOURCE_KEY_ID / KB_MOTO_SOURCE_SECRET  creates IAM user kb-source with this access key
      and an sts:AssumeRole policy, and turns moto's request authentication on: every STS call must
      then carry a valid SigV4 signature of that key (AssumeRole from a source_profile).
Secrets come through the environment, never the command line."""
import json
import os
import sys

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam import models as iam_models
from moto.sts import models as sts_models

TEMP = (os.environ["KB_MOTO_TEMP_KEY_ID"], os.environ["KB_MOTO_TEMP_SECRET"])
SOURCE = (os.environ.get("KB_MOTO_SOURCE_KEY_ID"), os.environ.get("KB_MOTO_SOURCE_SECRET"))
_init = iam_models.AccessKey.__init__


def _access_key_init(self, user_name, prefix, account_id, status="Active"):
    _init(self, user_name, prefix, account_id, status)
    if prefix == "ASIA":  # STS temporary credentials
        self.access_key_id, self.secret_access_key = TEMP
    elif prefix == "AKIA" and SOURCE[0]:
        self.access_key_id, self.secret_access_key = SOURCE


iam_models.AccessKey.__init__ = _access_key_init

if os.environ.get("KB_MOTO_DURATION_SECONDS"):
    seconds = int(os.environ["KB_MOTO_DURATION_SECONDS"])
    for name in ("assume_role", "assume_role_with_web_identity"):
        original = getattr(sts_models.STSBackend, name)

        def shortened(self, *args, _original=original, **kwargs):
            kwargs["duration"] = seconds
            return _original(self, *args, **kwargs)

        setattr(sts_models.STSBackend, name, shortened)

if SOURCE[0]:
    from moto import settings

    iam = iam_models.iam_backends[DEFAULT_ACCOUNT_ID]["global"]
    iam.create_user("us-east-1", "kb-source")
    iam.create_access_key("kb-source")
    iam.put_user_policy("kb-source", "assume", json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0

from moto.server import main  # noqa: E402

main(["-H", "127.0.0.1", "-p", sys.argv[1]])
