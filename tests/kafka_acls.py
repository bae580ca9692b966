"""Waiting for ACL changes to take effect, so tests poll a state instead of sleeping. The broker
answers DescribeAcls from the same authorizer state it authorizes requests with, so once the
wanted bindings are listed there (or gone), they are in effect on that broker."""
from __future__ import annotations

import re
import time

from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   ResourcePatternType, ResourceType)

_RESOURCE = re.compile(r"ResourcePattern\(resourceType=(\w+), name=(.*), patternType=(\w+)\)`:")
_ACL = re.compile(r"\(principal=([^,]+), host=[^,]+, operation=(\w+), permissionType=(\w+)\)")


def acl_key(resource_type: str, name: str, pattern: str, operation: str, permission: str) -> tuple:
    """One binding as (resource type, name, pattern type, operation, permission), upper-case names
    as confluent-kafka spells them (Kafka's CLUSTER resource is confluent-kafka's BROKER)."""
    resource_type = "BROKER" if resource_type.upper() == "CLUSTER" else resource_type.upper()
    return (resource_type, name, pattern.upper(), operation.upper(), permission.upper())


def added_acls(aclcommand_stdout: str, principal: str) -> set[tuple]:
    """The bindings for `principal` that Apache's AclCommand `--add` reports having added."""
    out, resource = set(), None
    for line in aclcommand_stdout.splitlines():
        if m := _RESOURCE.search(line):
            resource = m.groups()
        elif (m := _ACL.search(line)) and resource and m.group(1) == principal:
            out.add(acl_key(resource[0], resource[1], resource[2], m.group(2), m.group(3)))
    return out


def wait_for_acls(admin_conf: dict, principal: str, bindings: set[tuple], present: bool = True,
                  timeout: float = 30) -> None:
    """Polls (bounded) until every binding of `bindings` for `principal` is listed by the broker
    (present=True) or none is (present=False)."""
    assert bindings, "no ACL bindings to wait for"
    admin = AdminClient(admin_conf)
    flt = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, principal, None, AclOperation.ANY,
                           AclPermissionType.ANY)
    deadline = time.monotonic() + timeout
    have: set[tuple] = set()
    while time.monotonic() < deadline:
        have = {acl_key(b.restype.name, b.name, b.resource_pattern_type.name, b.operation.name,
                        b.permission_type.name) for b in admin.describe_acls(flt).result(10)}
        if (bindings <= have) if present else not (bindings & have):
            return
        time.sleep(0.05)
    state = "in effect" if present else "removed"
    raise AssertionError(f"ACLs of {principal} not {state} after {timeout} s: wanted {sorted(bindings)}, "
                         f"the broker lists {sorted(have)}")
