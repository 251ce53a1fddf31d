"""A device host reaching its farm through a TLS-terminating proxy with a private CA.

The proxy runs in this process: it accepts TLS on 127.0.0.1 with a server certificate
signed by a throw-away CA (made with the `openssl` command line) and forwards the decrypted
bytes, as raw TCP, to the server's plain HTTP port, so WebSocket upgrades pass through it as
they would through a real one. `farmhand agent --server https://… --ca-cert ca.pem` must run
a job end to end through it (its WebSocket and its file transfers both); without the CA it
must refuse the proxy's certificate, and a bad CA file must stop it at start-up.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from agents import create_token, run_on, start_agent
from harness import binary, clean_env
from simfarm import Lab, devices_by_name, fleet_toml, host_device, sim_fixture, spec_yaml, wait_availability, wait_for
from test_host_runner import results_of, wait_status

# What the proxy keeps of each connection's decrypted client bytes: enough for the request
# lines of a job's few small transfers.
RECORD_LIMIT = 1 << 20
REQUEST_LINE = re.compile(rb"(GET|PUT|POST) (/[^ ?\r\n]*)[^ \r\n]* HTTP/1\.1\r\n")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(root: Path) -> Path:
    """A CA (ca.pem, ca.key) and a certificate for 127.0.0.1 it signed (server.pem, server.key)."""
    root.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=farmhand throw-away test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=root)
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=root)
    (root / "server.ext").write_text("subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n"
                                     "keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext", cwd=root)
    return root


class TlsProxy:
    """Terminates TLS on 127.0.0.1 and relays the plain bytes to `upstream`, both ways."""

    def __init__(self, cert: Path, key: Path, upstream: tuple[str, int]):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.upstream = upstream
        self.accepted = 0
        self.failed_handshakes: list[str] = []
        self.port = 0
        self._client_bytes: list[bytearray] = []
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> "TlsProxy":
        self._thread.start()
        assert self._ready.wait(10), "the proxy did not start"
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def requests_seen(self) -> list[tuple[str, str]]:
        """(method, path) of every HTTP request that came through, in order per connection."""
        return [(m.group(1).decode(), m.group(2).decode())
                for sent in list(self._client_bytes) for m in REQUEST_LINE.finditer(bytes(sent))]

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _shutdown(self) -> None:
        assert self._server
        self._server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            # The handshake is done here rather than by the listener, so a refused one is seen.
            await client_writer.start_tls(self.context)
        except (ssl.SSLError, OSError) as e:
            self.failed_handshakes.append(repr(e))
            client_writer.close()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return
        sent = bytearray()
        self._client_bytes.append(sent)
        await asyncio.gather(self._pump(client_reader, server_writer, sent), self._pump(server_reader, client_writer))

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bytearray | None = None) -> None:
        try:
            while data := await reader.read(65536):
                if record is not None and len(record) < RECORD_LIMIT:
                    record += data
                writer.write(data)
                await writer.drain()
        except (OSError, ssl.SSLError):
            pass
        finally:
            # Either side ending ends the connection: HTTP/1.1 and WebSocket need no half-close.
            writer.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    return make_pki(tmp_path_factory.mktemp("pki"))


farm = sim_fixture("tls-server", scale=1)


@pytest.fixture
def proxy(farm, pki):
    host, port = farm.endpoint.removeprefix("http://").rsplit(":", 1)
    relay = TlsProxy(pki / "server.pem", pki / "server.key", (host, int(port))).start()
    yield relay
    relay.stop()


def test_an_agent_trusting_the_private_ca_runs_a_job_through_the_tls_proxy(farm, proxy, pki, tmp_path):
    phone = host_device("tls-phone", "TLS Phone")
    markers = tmp_path / "markers"
    markers.mkdir()
    with start_agent(farm, "tls-rack", [phone], tmp_path / "agent", servers=[proxy.url], token_in_env=True,
                     extra_args=["--ca-cert", str(pki / "ca.pem")]) as agent:
        lab = Lab(farm)
        try:
            listed = wait_availability(lab.client, phone["name"], "AVAILABLE", timeout=20)
        except AssertionError as e:
            raise AssertionError(f"{e}\nagent log:\n{agent.log()[-3000:]}") from None
        assert f"{proxy.url}" in agent.log() and "connected to the server" in agent.log(), agent.log()[-3000:]

        spec = spec_yaml(
            test=[
                f"ls $DEVICEFARM_TEST_PACKAGE_PATH/tests > {markers}/package.txt",
                "printf '<testsuite><testcase classname=\"tls\" name=\"through_the_proxy\" time=\"0.1\"/></testsuite>'"
                " > $DEVICEFARM_LOG_DIR/junit.xml",
                "echo over-tls > $DEVICEFARM_LOG_DIR/proof.log",
                "echo spec-output-over-tls",
            ],
            artifacts=["$DEVICEFARM_LOG_DIR"],
        )
        job = run_on(lab, listed["arn"], spec)
        final = wait_status(lab, job["arn"], "COMPLETED", timeout=40)
        assert final["result"] == "PASSED", (final, agent.log()[-3000:])
        assert (markers / "package.txt").read_text().split() == ["data.txt"], "the package came down through the proxy"
        assert results_of(lab, job["arn"]) == [
            ("Setup Suite", "Setup Test", "PASSED", None),
            ("Tests Suite", "tls.through_the_proxy", "PASSED", None),
            ("Teardown Suite", "Teardown Test", "PASSED", None),
        ]

        files = {a["type"]: a for a in lab.client.list_artifacts(arn=job["arn"], type="FILE")["artifacts"]}
        output = requests.get(files["TESTSPEC_OUTPUT"]["url"], timeout=10).text
        assert "spec-output-over-tls" in output, output
        archive = requests.get(files["CUSTOMER_ARTIFACT"]["url"], timeout=10).content
        assert b"proof.log" in archive, "the customer artifact came up through the proxy"

        seen = proxy.requests_seen()
        assert proxy.failed_handshakes == [], proxy.failed_handshakes
        assert ("GET", "/agent/v1/connect") in seen, seen
        assert ("GET", "/agent/v1/input") in seen, seen
        assert ("PUT", "/agent/v1/output") in seen, seen
        assert ("PUT", "/agent/v1/artifact") in seen, seen


def test_without_the_ca_the_agent_refuses_the_proxys_certificate(farm, proxy, tmp_path):
    phone = host_device("untrusting-phone", "Untrusting Phone")
    with start_agent(farm, "untrusting-rack", [phone], tmp_path / "agent", servers=[proxy.url],
                     token_in_env=True) as agent:
        wait_for(lambda: {"n": agent.log().count("connection to the server failed")}, lambda v: v["n"] >= 2,
                 timeout=20, interval=0.1, what=f"two failed connections\n{agent.log()[-3000:]}")
        log = agent.log()
        assert "invalid peer certificate" in log and "UnknownIssuer" in log, log[-3000:]
        assert agent.proc and agent.proc.poll() is None, "an agent that cannot connect keeps trying"
        assert proxy.accepted >= 2 and len(proxy.failed_handshakes) >= 2, (proxy.accepted, proxy.failed_handshakes)
        assert proxy.requests_seen() == [], "nothing got past the handshake"
        time.sleep(1)
        assert phone["name"] not in devices_by_name(farm.client()), "a host that never connected declares nothing"


@pytest.mark.parametrize("case", ["the server's key", "a broken certificate block", "a missing file"])
def test_a_bad_ca_file_stops_the_agent_at_start_up(farm, proxy, pki, tmp_path, case):
    phone = host_device("never-phone", "Never Phone")
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(fleet_toml([phone]))
    if case == "the server's key":
        ca_file, expected = pki / "server.key", "holds no certificate"
    elif case == "a broken certificate block":
        ca_file, expected = tmp_path / "broken.pem", "is not a PEM file of CA certificates"
        ca_file.write_text("-----BEGIN CERTIFICATE-----\nthis is !! not base64\n-----END CERTIFICATE-----\n")
    else:
        ca_file, expected = tmp_path / "absent.pem", "reading the CA certificates in"
    env = {**clean_env(), "FARMHAND_AGENT_TOKEN": create_token(farm, "never-rack")[1]}
    done = subprocess.run([str(binary()), "agent", "--server", proxy.url, "--fleet", str(fleet),
                           "--work-dir", str(tmp_path / "work"), "--ca-cert", str(ca_file)],
                          env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode != 0, done
    assert expected in done.stderr and str(ca_file) in done.stderr, done.stderr
    assert proxy.accepted == 0, "the agent stopped before connecting"
    assert phone["name"] not in devices_by_name(farm.client())
