"""Network profiles and VPC endpoint names applied for real on a `host` device: a run with a
profile runs its job in a network namespace of its own whose link is shaped (here: a delay
on the uplink, a bandwidth cap on the downlink), a VPC endpoint configuration's
serviceDnsName reaches its vpceServiceName from inside the job, and a run without either
runs in this machine's network unshaped. Needs root (CI runs as root)."""

from __future__ import annotations

import os
import shutil
import socketserver
import threading

import pytest
import requests

from simfarm import Lab, host_device, sim_fixture, spec_yaml, wait_for
from support import unique

HOST = host_device("net-host", "Net Host")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft", path="/usr/sbin:/sbin:" + os.environ.get("PATH", "")),
    reason="job networks need root and nftables",
)


class Sender(socketserver.BaseRequestHandler):
    """Sends the server's payload and closes."""

    def handle(self):
        self.request.sendall(self.server.payload)


@pytest.fixture(scope="module")
def loopback():
    """A server on this machine's 127.0.0.1 sending 250 kB to each connection; its port."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Sender)
    server.daemon_threads = True
    server.payload = b"x" * 250_000
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


farm = sim_fixture("net", scale=1, fleet=[HOST])


def fetch(host: str, port: int) -> str:
    """A command printing connect_ms, total_ms and bytes of one download from host:port."""
    return (
        "python3 -c 'import socket,time; t=time.monotonic(); "
        f"s=socket.create_connection((\"{host}\",{port}),timeout=30); c=time.monotonic()-t; "
        "n=sum(iter(lambda: len(s.recv(65536)), 0)); "
        "print(\"connect_ms=%f total_ms=%f bytes=%d\" % (c*1000, (time.monotonic()-t)*1000, n))'"
    )


def run_job(lab: Lab, commands: list[str], configuration: dict | None = None) -> tuple[dict, str]:
    run = lab.spec_run(lab.device_arn(HOST["name"]), spec_yaml(test=commands), name="net-run",
                       **({"configuration": configuration} if configuration else {}))
    job = lab.jobs(run["arn"])[0]
    final = wait_for(lambda: lab.client.get_job(arn=job["arn"])["job"], lambda j: j["status"] == "COMPLETED", timeout=90)
    files = {a["type"]: a for a in lab.client.list_artifacts(arn=job["arn"], type="FILE")["artifacts"]}
    return final, requests.get(files["TESTSPEC_OUTPUT"]["url"], timeout=10).text


def reading(output: str, key: str) -> float:
    for line in output.splitlines():
        for word in line.split():
            if word.startswith(key + "=") and not line.startswith("[farmhand]"):
                return float(word.split("=", 1)[1])
    raise AssertionError(f"no {key} in {output}")


def test_a_profile_shapes_the_jobs_link(lab, loopback):
    profile = lab.client.create_network_profile(
        projectArn=lab.arn, name=unique("slow"), uplinkDelayMs=200, downlinkBandwidthBits=1_000_000,
    )["networkProfile"]
    final, output = run_job(lab, [fetch("host.farmhand.internal", loopback), "readlink /proc/self/ns/net"],
                            {"networkProfileArn": profile["arn"]})
    assert final["result"] == "PASSED", output
    assert reading(output, "bytes") == 250_000, output
    assert reading(output, "connect_ms") >= 200, output  # the SYN waits 200 ms on the way up
    assert reading(output, "total_ms") >= 1900, output  # 2 Mbit at 1 Mbit/s
    assert os.readlink("/proc/self/ns/net") not in output, "the job has a network of its own"


def test_a_vpce_name_reaches_its_service_from_the_job(lab, loopback):
    config = lab.client.create_vpce_configuration(
        vpceConfigurationName=unique("svc"), vpceServiceName=f"127.0.0.1:{loopback}",
        serviceDnsName="shop.vpce.internal",
    )["vpceConfiguration"]
    final, output = run_job(lab, [fetch("shop.vpce.internal", 443)], {"vpceConfigurationArns": [config["arn"]]})
    lab.client.delete_vpce_configuration(arn=config["arn"])
    assert final["result"] == "PASSED", output
    assert reading(output, "bytes") == 250_000, output


def test_a_run_without_a_profile_shares_this_machines_network_unshaped(lab, loopback):
    final, output = run_job(lab, [fetch("127.0.0.1", loopback), "readlink /proc/self/ns/net"])
    assert final["result"] == "PASSED", output
    assert os.readlink("/proc/self/ns/net") in output
    assert reading(output, "connect_ms") < 200, output
