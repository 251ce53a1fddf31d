"""Offerings through boto3: the catalog (the built-in demo one, and one from the config
file), promotions, PurchaseOffering → GetOfferingStatus current and a listed transaction,
RenewOffering → nextPeriod, the model's errors (and that a refused request changes
nothing), ListOfferingTransactions paging, and purchased slots as the account's unmetered
devices: GetAccountSettings, and the scheduler keeping the jobs beyond them in
PENDING_CONCURRENCY."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from harness import Farmhand, new_access_key, running
from simfarm import Lab, Scenario, SimTest, device, devices_by_name, fleet_toml, wait_for, wait_run_completed
from support import assert_recent, error_code, no_nulls, unique

ANDROID_SLOT = "8B2F6E0A-61C4-4D3B-9C52-3E1A7A0D4F01"
IOS_SLOT = "8B2F6E0A-61C4-4D3B-9C52-3E1A7A0D4F02"
PROMOTION = "FIRST-MONTH-FREE"
NO_SUCH_OFFERING = "00000000-0000-4000-8000-00000000dead"


def slot(offering_id: str, platform: str, description: str, amount: float = 250.0) -> dict:
    return {"id": offering_id, "description": description, "type": "RECURRING", "platform": platform,
            "recurringCharges": [{"cost": {"amount": amount, "currencyCode": "USD"}, "frequency": "MONTHLY"}]}


def next_month_start(epoch: float) -> float:
    t = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    first = dt.datetime(t.year + (t.month == 12), t.month % 12 + 1, 1, tzinfo=dt.timezone.utc)
    return first.timestamp()


def expect_error(code: str, call, **kwargs) -> None:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == code, e.value.response


def transactions(client) -> list[dict]:
    pages = client.get_paginator("list_offering_transactions").paginate()
    return [t for page in pages for t in page["offeringTransactions"]]


def test_serve_has_a_demo_catalog_out_of_the_box(server):
    client = server.client(server.create_account(unique("catalog")))
    offerings = client.list_offerings()["offerings"]
    assert offerings == [slot(ANDROID_SLOT, "ANDROID", "Android Unmetered Device Slot"),
                         slot(IOS_SLOT, "IOS", "iOS Unmetered Device Slot")]
    promotions = client.list_offering_promotions()["offeringPromotions"]
    assert promotions == [{"id": PROMOTION, "description": "The first month of a purchase is free"}]
    status = client.get_offering_status()
    assert (status["current"], status["nextPeriod"]) == ({}, {}), "an account starts with no slots"
    assert client.list_offering_transactions()["offeringTransactions"] == []


def test_purchase_renew_status_and_transactions(server):
    account = server.create_account(unique("buyer"))
    client = server.client(account)
    bought = client.purchase_offering(offeringId=ANDROID_SLOT, quantity=2)["offeringTransaction"]
    no_nulls(bought)
    assert len(bought["transactionId"]) >= 32
    assert bought["cost"] == {"amount": 500.0, "currencyCode": "USD"}
    assert "offeringPromotionId" not in bought
    status = bought["offeringStatus"]
    assert (status["type"], status["quantity"], status["offering"]) == (
        "PURCHASE", 2, slot(ANDROID_SLOT, "ANDROID", "Android Unmetered Device Slot"))
    now = status["effectiveOn"].timestamp()
    assert_recent(status["effectiveOn"])
    assert bought["createdOn"] == status["effectiveOn"], "a purchase is effective when made"

    offering_status = client.get_offering_status()
    current = offering_status["current"][ANDROID_SLOT]
    assert (current["type"], current["quantity"], current["effectiveOn"]) == ("PURCHASE", 2, status["effectiveOn"])
    upcoming = offering_status["nextPeriod"][ANDROID_SLOT]
    assert (upcoming["type"], upcoming["quantity"]) == ("SYSTEM", 2), "slots renew by themselves"
    assert upcoming["effectiveOn"].timestamp() == next_month_start(now)
    settings = client.get_account_settings()["accountSettings"]
    assert settings["unmeteredDevices"] == {"ANDROID": 3, "IOS": 1}, "the configured slot plus two purchased"

    renewed = client.renew_offering(offeringId=ANDROID_SLOT, quantity=1)["offeringTransaction"]
    assert renewed["offeringStatus"]["type"] == "RENEW"
    assert renewed["offeringStatus"]["quantity"] == 1
    assert renewed["offeringStatus"]["effectiveOn"].timestamp() == next_month_start(now)
    assert renewed["cost"] == {"amount": 250.0, "currencyCode": "USD"}
    offering_status = client.get_offering_status()
    assert offering_status["current"][ANDROID_SLOT]["quantity"] == 2, "a renewal leaves this period alone"
    upcoming = offering_status["nextPeriod"][ANDROID_SLOT]
    assert (upcoming["type"], upcoming["quantity"]) == ("RENEW", 1)

    listed = transactions(client)
    assert [t["transactionId"] for t in listed] == [renewed["transactionId"], bought["transactionId"]], \
        "most recent first"
    assert listed[1] == bought


def test_promotions_apply_once(server):
    client = server.client(server.create_account(unique("promo")))
    free = client.purchase_offering(offeringId=IOS_SLOT, quantity=1,
                                    offeringPromotionId=PROMOTION)["offeringTransaction"]
    assert free["offeringPromotionId"] == PROMOTION
    assert free["cost"] == {"amount": 0.0, "currencyCode": "USD"}
    expect_error("NotEligibleException", client.purchase_offering, offeringId=IOS_SLOT, quantity=1,
                 offeringPromotionId=PROMOTION)
    expect_error("NotEligibleException", client.purchase_offering, offeringId=IOS_SLOT, quantity=1,
                 offeringPromotionId="NO-SUCH-PROMOTION")
    assert [t["transactionId"] for t in transactions(client)] == [free["transactionId"]]
    assert client.get_offering_status()["current"][IOS_SLOT]["quantity"] == 1


def test_errors_change_nothing(server):
    account = server.create_account(unique("refused"))
    client = server.client(account)
    expect_error("NotFoundException", client.purchase_offering, offeringId=NO_SUCH_OFFERING, quantity=1)
    expect_error("NotFoundException", client.renew_offering, offeringId=NO_SUCH_OFFERING, quantity=1)
    for quantity in (0, -1):
        expect_error("ArgumentException", client.purchase_offering, offeringId=ANDROID_SLOT, quantity=quantity)
    expect_error("NotEligibleException", client.renew_offering, offeringId=ANDROID_SLOT, quantity=1)
    # Below the model's 32 characters, which boto3 itself would refuse to send.
    short = server.call("PurchaseOffering", {"offeringId": "short", "quantity": 1}, keys=server.creds(account))
    assert (short.status_code, short.json()["__type"]) == (400, "ArgumentException"), short.text

    server.manage("account", "update", account.id, "--max-slots", f"{ANDROID_SLOT}=3")
    assert client.get_account_settings()["accountSettings"]["maxSlots"] == {ANDROID_SLOT: 3}
    client.purchase_offering(offeringId=ANDROID_SLOT, quantity=2)
    expect_error("LimitExceededException", client.purchase_offering, offeringId=ANDROID_SLOT, quantity=2)
    expect_error("LimitExceededException", client.renew_offering, offeringId=ANDROID_SLOT, quantity=4)
    client.purchase_offering(offeringId=ANDROID_SLOT, quantity=1)

    listed = transactions(client)
    assert [t["offeringStatus"]["quantity"] for t in listed] == [1, 2], "only the two accepted purchases"
    status = client.get_offering_status()
    assert status["current"][ANDROID_SLOT]["quantity"] == 3
    assert IOS_SLOT not in status["current"]


def test_transactions_page_fifty_at_a_time(server):
    client = server.client(server.create_account(unique("pages")))
    made = [client.purchase_offering(offeringId=IOS_SLOT, quantity=1)["offeringTransaction"]["transactionId"]
            for _ in range(53)]
    first = client.list_offering_transactions()
    assert len(first["offeringTransactions"]) == 50 and first["nextToken"]
    second = client.list_offering_transactions(nextToken=first["nextToken"])
    assert "nextToken" not in second
    listed = [t["transactionId"] for t in first["offeringTransactions"] + second["offeringTransactions"]]
    assert sorted(listed) == sorted(made) and len(set(listed)) == 53
    assert client.get_offering_status()["current"][IOS_SLOT]["quantity"] == 53
    expect_error("ArgumentException", client.list_offering_transactions, nextToken="not-a-token-of-ours")
    expect_error("ArgumentException", client.get_offering_status, nextToken="not-a-token-of-ours")


# --- a catalog from the config file, and the slots the scheduler grants ----------------

LAB_SLOT = "11111111-2222-4333-8444-555555555555"
CONFIG = f"""
[[offerings]]
id = "{LAB_SLOT}"
description = "Lab Android slot"
platform = "ANDROID"
type = "RECURRING"
price = {{ amount = 120.5, currency_code = "USD", frequency = "MONTHLY" }}

[[offering_promotions]]
id = "HALF-OFF"
description = "Half off a purchase"
discount_percent = 50
"""
FLEET = [device("slot-one", "Slot One"), device("slot-two", "Slot Two"), device("slot-three", "Slot Three")]
# Long enough at --time-scale 20 (ten seconds of wall time) to see who waits.
LONG = Scenario(setup=1, teardown=1, tests=(SimTest("long", 200),))


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("offerings")
    config, fleet = data.parent / "offerings.toml", data.parent / "offerings-fleet.toml"
    config.write_text(CONFIG)
    fleet.write_text(fleet_toml(FLEET))
    with running(Farmhand(data, root_key=new_access_key(),
                          extra_args=["--time-scale", "20", "--fleet", str(fleet), "--config", str(config)])) as farm:
        yield farm


def test_the_config_files_catalog_is_served(lab_server):
    client = lab_server.client()
    assert client.list_offerings()["offerings"] == [slot(LAB_SLOT, "ANDROID", "Lab Android slot", 120.5)]
    assert client.list_offering_promotions()["offeringPromotions"] == [
        {"id": "HALF-OFF", "description": "Half off a purchase"}]
    expect_error("NotFoundException", client.purchase_offering, offeringId=ANDROID_SLOT, quantity=1)


def test_purchased_slots_bound_unmetered_runs(lab_server):
    account = lab_server.create_account(unique("slots"))
    lab_server.manage("account", "update", account.id, "--unmetered-devices", "ANDROID=0")
    lab = Lab(lab_server, account)
    bought = lab.client.purchase_offering(offeringId=LAB_SLOT, quantity=2,
                                          offeringPromotionId="HALF-OFF")["offeringTransaction"]
    assert bought["cost"] == {"amount": 120.5, "currencyCode": "USD"}
    assert lab.client.get_account_settings()["accountSettings"]["unmeteredDevices"]["ANDROID"] == 2

    fleet = devices_by_name(lab.client)
    pool = lab.pool([fleet[d["name"]]["arn"] for d in FLEET])
    run = lab.web_run(pool, lab.package(LONG), configuration={"billingMethod": "UNMETERED"})
    assert run["billingMethod"] == "UNMETERED"

    def statuses() -> list[str]:
        return sorted(j["status"] for j in lab.jobs(run["arn"]))

    seen = wait_for(statuses, lambda s: s.count("RUNNING") == 2, timeout=60, interval=0.2, what="two jobs running")
    assert seen == ["PENDING_CONCURRENCY", "RUNNING", "RUNNING"], seen
    # Still so a while later: the third job waits for a slot, not for a device.
    assert statuses() == ["PENDING_CONCURRENCY", "RUNNING", "RUNNING"]
    lab.client.stop_run(arn=run["arn"])
    assert wait_run_completed(lab.client, run["arn"])["result"] == "STOPPED"
