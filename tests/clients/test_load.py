"""Load: a thousand clients at once, each a boto3 client of its own (its own connection),
released together, each making a project, tagging it and giving it a device pool, then
reading the project and its pools back, through SigV4-signed requests to a server with its
default limits.

No request may fail with a 5xx (a "database is locked" would), none may go unanswered, and
no acknowledged write may be lost: afterwards every project, tag and pool a client was told
it made is listed, and nothing else is. The keys are spread over accounts so that the
per-key rate limit is not what is measured; a ThrottlingException (400, which SDKs retry)
is still allowed and retried, and counted.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from conftest import new_server
from harness import REGION, Farmhand, running

CLIENTS = 1000
ACCOUNTS = 4
KEYS_PER_ACCOUNT = 2
# Bounds for a slow, busy machine: a thousand requests queue at the server at once.
CLIENT_SECONDS = 150.0
READ_TIMEOUT_SECONDS = 120


@pytest.fixture
def load_farm(tmp_path_factory):
    with running(new_server(tmp_path_factory, "load")) as farmhand:
        yield farmhand


def sdk_client(farm: Farmhand, keys: tuple[str, str]):
    # One attempt: a retried 5xx would hide exactly what this test looks for.
    return boto3.client("devicefarm", endpoint_url=farm.endpoint, region_name=REGION, aws_access_key_id=keys[0],
                        aws_secret_access_key=keys[1],
                        config=Config(retries={"total_max_attempts": 1}, connect_timeout=30,
                                      read_timeout=READ_TIMEOUT_SECONDS))


class Tally:
    """Every answer that was not a success, by kind."""

    def __init__(self):
        self.lock = threading.Lock()
        self.throttled = 0
        self.failures: Counter = Counter()
        self.examples: list[str] = []

    def failed(self, kind: str, example: str) -> None:
        with self.lock:
            self.failures[kind] += 1
            if len(self.examples) < 10:
                self.examples.append(example)


def call(tally: Tally, operation, **kwargs) -> dict | None:
    """The operation's answer, after as many ThrottlingExceptions as it takes (with backoff,
    as an SDK would); None, tallied, on any other failure."""
    for attempt in range(50):
        try:
            return operation(**kwargs)
        except botocore.exceptions.ClientError as e:
            status, code = e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
            if code == "ThrottlingException" and status == 400:
                with tally.lock:
                    tally.throttled += 1
                time.sleep(random.uniform(0, min(2.0, 0.05 * 2 ** attempt)))
                continue
            tally.failed(f"{status} {code}", f"{operation.__name__}: {status} {code} {e}")
            return None
        except (botocore.exceptions.BotoCoreError, OSError) as e:
            tally.failed(type(e).__name__, f"{operation.__name__}: no answer: {e}")
            return None
    tally.failed("throttled for good", f"{operation.__name__}: still throttled after 50 attempts")
    return None


def one_client(n: int, client, device_arn: str, start: threading.Barrier, tally: Tally, made: dict) -> None:
    start.wait()
    project = call(tally, client.create_project, name=f"load-{n}")
    if not project:
        return
    arn = project["project"]["arn"]
    made[n] = {"project": arn}
    tags = [{"Key": "client", "Value": str(n)}, {"Key": "load", "Value": "yes"}]
    if call(tally, client.tag_resource, ResourceARN=arn, Tags=tags) is not None:
        made[n]["tags"] = tags
    rules = [{"attribute": "ARN", "operator": "IN", "value": json.dumps([device_arn])}]
    pool = call(tally, client.create_device_pool, projectArn=arn, name=f"pool-{n}", rules=rules)
    if pool:
        made[n]["pool"] = pool["devicePool"]["arn"]
    # Each client reads its writes back at once (the tags are read back afterwards).
    read = call(tally, client.get_project, arn=arn)
    if read and read["project"]["name"] != f"load-{n}":
        tally.failed("wrong read", f"GetProject of client {n}: {read['project']}")
    pools = call(tally, client.list_device_pools, arn=arn, type="PRIVATE")
    if pools and "pool" in made[n] and [p["arn"] for p in pools["devicePools"]] != [made[n]["pool"]]:
        tally.failed("wrong read", f"pools of client {n}: {pools['devicePools']}")


def test_a_thousand_clients_at_once_get_no_5xx_and_lose_no_write(load_farm):
    farm = load_farm
    began = time.monotonic()
    accounts = [None, *(farm.create_account(f"load-{i}") for i in range(1, ACCOUNTS))]
    keys = []
    for account in accounts:
        keys.append(farm.creds(account))
        account_id = account.id if account else farm.account_id
        keys += [farm.create_key(account_id) for _ in range(KEYS_PER_ACCOUNT - 1)]
    account_of_key = {k: i // KEYS_PER_ACCOUNT for i, k in enumerate(keys)}
    key_of = [keys[n % len(keys)] for n in range(CLIENTS)]
    clients = [sdk_client(farm, key) for key in key_of]
    device_arn = clients[0].list_devices()["devices"][0]["arn"]

    tally, made = Tally(), {}
    start = threading.Barrier(CLIENTS)
    previous_stack = threading.stack_size(512 * 1024)
    try:
        threads = [threading.Thread(target=one_client, args=(n, clients[n], device_arn, start, tally, made))
                   for n in range(CLIENTS)]
        for t in threads:
            t.start()
    finally:
        threading.stack_size(previous_stack)
    released = time.monotonic()
    for t in threads:
        t.join(timeout=max(0.0, released + CLIENT_SECONDS - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "clients still waiting for answers"
    took = time.monotonic() - released
    print(f"\n{CLIENTS} clients, {len(keys)} keys: done {took:.1f}s after release; {tally.throttled} throttled "
          f"(retried); failures {dict(tally.failures)}")
    assert not tally.failures, "\n".join(tally.examples) + "\n" + farm.log_tail()
    assert farm.alive() and len(made) == CLIENTS

    # Nothing acknowledged is lost, nothing unacknowledged appears: each account lists
    # exactly its clients' projects, each project exactly its tags and pool.
    readers = {i: sdk_client(farm, keys[i * KEYS_PER_ACCOUNT]) for i in range(ACCOUNTS)}
    for i, reader in readers.items():
        listed = {p["arn"] for page in reader.get_paginator("list_projects").paginate() for p in page["projects"]}
        mine = {m["project"] for n, m in made.items() if account_of_key[key_of[n]] == i}
        assert listed == mine, f"account {i}: {len(mine - listed)} lost, {len(listed - mine)} unexpected"

    def check(n: int) -> str | None:
        reader, wrote = readers[account_of_key[key_of[n]]], made[n]
        tags = reader.list_tags_for_resource(ResourceARN=wrote["project"])["Tags"]
        pools = [p["arn"] for p in reader.list_device_pools(arn=wrote["project"], type="PRIVATE")["devicePools"]]
        if sorted(tags, key=lambda t: t["Key"]) != wrote["tags"] or pools != [wrote["pool"]]:
            return f"client {n} wrote {wrote}; listed {tags}, {pools}"
        return None

    with ThreadPoolExecutor(8) as pool:
        lost = [m for m in pool.map(check, sorted(made)) if m]
    assert not lost, f"{len(lost)} clients' writes differ from what is listed:\n" + "\n".join(lost[:10])
    print(f"{len(made)} projects, tags and pools all listed; {time.monotonic() - began:.1f}s in all")
