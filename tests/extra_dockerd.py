"""A second Docker engine for tests that need one of their own (TLS, SSH, several engines,
Swarm): never the shared main engine.

`ExtraDockerd(tls=True, swarm=True).start()` runs another dockerd beside the main one, with
its own data root, exec root, pid file, socket and bridge (a bridge of its own, made first:
never `--bridge none`, which deletes docker0 and breaks the main engine — TOOLCHAIN.md), and
`--iptables=false` so it leaves the host's rules alone. With `tls=True` it also listens on
127.0.0.1:<free port> with `--tlsverify`, certificates made here for this run (`TlsFiles`:
a CA, the engine's certificate for 127.0.0.1, a client certificate). `stop()` ends it, waits
for the process to go, and removes the bridge and the folders.
"""

import contextlib
import datetime
import fcntl
import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import docker
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.engine import TEST_IMAGE, free_port, wait_for

# Bridges of extra engines take 172.31.<240..249>.0/24: away from the main engine's pools.
_SUBNETS = [f"172.31.{n}" for n in range(240, 250)]
# Held while a subnet is chosen and given to a new bridge (every test session on this machine).
_SUBNET_LOCK = Path(tempfile.gettempdir()) / "dockerweb-extra-dockerd-subnets.lock"


# -- certificates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pem:
    cert: str
    key: str


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _certificate(subject: str, key, issuer: tuple | None, *, ca=False, server=False) -> str:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = (name, key) if issuer is None else issuer
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return (
        builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
    )


@dataclass(frozen=True)
class TlsSet:
    """A CA, an engine certificate it signed (for 127.0.0.1) and a client certificate."""

    ca: str
    server: Pem
    client: Pem

    @classmethod
    def make(cls, label: str = "dockerweb-test") -> "TlsSet":
        ca_key = _key()
        ca_cert = _certificate(f"{label} CA", ca_key, None, ca=True)
        ca_name = x509.load_pem_x509_certificate(ca_cert.encode()).subject
        issuer = (ca_name, ca_key)
        server_key, client_key = _key(), _key()
        return cls(
            ca=ca_cert,
            server=Pem(
                _certificate("127.0.0.1", server_key, issuer, server=True), _key_pem(server_key)
            ),
            client=Pem(_certificate(f"{label} client", client_key, issuer), _key_pem(client_key)),
        )

    def write_client_dir(self, folder: Path) -> Path:
        """ca.pem, cert.pem, key.pem: the docker CLI's layout (DOCKERWEB_ENGINE_<NAME>_TLS_DIR)."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ca.pem").write_text(self.ca)
        (folder / "cert.pem").write_text(self.client.cert)
        (folder / "key.pem").write_text(self.client.key)
        os.chmod(folder / "key.pem", 0o600)
        return folder


# -- the engine ---------------------------------------------------------------------------


class ExtraDockerd:
    def __init__(
        self, *, tls: bool = False, swarm: bool = False, name: str = "dwx", image: str = TEST_IMAGE
    ):
        self.tag = f"{name}{uuid.uuid4().hex[:6]}"
        self.root = Path(tempfile.mkdtemp(prefix=f"dockerweb-{self.tag}-", dir="/var/tmp"))
        self.socket = self.root / "docker.sock"
        self.bridge = f"{self.tag}br"[:15]
        self.tls = TlsSet.make(self.tag) if tls else None
        self.tcp_port = free_port() if tls else None
        self.swarm = swarm
        # Copied from the main engine at start: the session's test image, or a benchmark's own.
        self.image = image
        self.process: subprocess.Popen | None = None
        self._subnet: str | None = None

    @property
    def unix_address(self) -> str:
        return f"unix://{self.socket}"

    @property
    def tcp_address(self) -> str:
        return f"tcp://127.0.0.1:{self.tcp_port}"

    def client(self) -> docker.APIClient:
        """A client on the unix socket (the test's own side door, no TLS)."""
        return docker.APIClient(base_url=self.unix_address, version="auto", timeout=30)

    def start(self) -> "ExtraDockerd":
        try:
            self._make_bridge()
            self._run_dockerd()
            wait_for(self._answers, timeout=60, interval=0.2, message=f"dockerd {self.tag}")
            self._load_test_image()
            if self.swarm:
                self._swarm_init()
        except BaseException:
            self.stop()
            raise
        return self

    def _make_bridge(self) -> None:
        # Another test session (the other xdist worker, another run on this machine) may be
        # making its bridge right now: a subnet is chosen and taken under one lock, so two
        # never see the same one free.
        with open(_SUBNET_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            existing = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
            for subnet in _SUBNETS:
                if f" {subnet}." not in existing:
                    self._subnet = subnet
                    break
            else:
                raise RuntimeError("no free 172.31.24x.0/24 subnet for another test engine")
            subprocess.run(["ip", "link", "add", "name", self.bridge, "type", "bridge"], check=True)
            subprocess.run(
                ["ip", "addr", "add", f"{self._subnet}.1/24", "dev", self.bridge], check=True
            )
        subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)

    def _run_dockerd(self) -> None:
        arguments = [
            shutil.which("dockerd") or "/usr/sbin/dockerd",
            "--host",
            self.unix_address,
            "--data-root",
            str(self.root / "data"),
            "--exec-root",
            str(self.root / "exec"),
            "--pidfile",
            str(self.root / "docker.pid"),
            "--bridge",
            self.bridge,
            "--iptables=false",
            "--ip-masq=false",
            # Its containerd is its own too (else it would share the main engine's namespace).
            "--containerd-namespace",
            self.tag,
            "--containerd-plugins-namespace",
            f"{self.tag}p",
        ]
        if self.tls is not None:
            certs = self.root / "certs"
            certs.mkdir()
            (certs / "ca.pem").write_text(self.tls.ca)
            (certs / "server.pem").write_text(self.tls.server.cert)
            (certs / "server-key.pem").write_text(self.tls.server.key)
            arguments += [
                "--host",
                self.tcp_address,
                "--tlsverify",
                "--tlscacert",
                str(certs / "ca.pem"),
                "--tlscert",
                str(certs / "server.pem"),
                "--tlskey",
                str(certs / "server-key.pem"),
            ]
        log = open(self.root / "dockerd.log", "wb")  # noqa: SIM115 - kept open for the process
        self.process = subprocess.Popen(
            arguments, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = (self.root / "dockerd.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"dockerd {self.tag} exited: {log}")
        try:
            return self.client().ping()
        except Exception:
            return False

    def _load_test_image(self) -> None:
        """The test image (`image`), copied from the main engine (no registry needed)."""
        from tests.engine import api

        data = api().get_image(self.image)
        self.client().load_image(b"".join(data))

    def _swarm_init(self) -> None:
        port = free_port()
        self.client().init_swarm(
            advertise_addr="127.0.0.1", listen_addr=f"127.0.0.1:{port}", force_new_cluster=False
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            if self.swarm:
                with contextlib.suppress(Exception):  # going down anyway
                    self.client().leave_swarm(force=True)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        # Its containerd shims and mounts go with it; what is left mounted is unmounted.
        self._unmount_leftovers()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def _unmount_leftovers(self) -> None:
        mounts = Path("/proc/mounts").read_text().splitlines()
        inside = [line.split()[1] for line in mounts if str(self.root) in line.split()[1]]
        for mount in sorted(inside, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True)
