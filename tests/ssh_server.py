"""An SSH server of the test's own, for SSH engines: Debian's sshd (openssh-server, installed
by scripts/ensure-test-tools.sh) run as `sshd -D -f <its own config>` on 127.0.0.1:<free port>,
with a host key and an authorized client key both made here, logging in as root. A login runs
the docker CLI there, so `ssh://root@127.0.0.1:<port>` reaches the main engine through
`docker system dial-stdio` (tests keep to their own labelled objects, as everywhere).

`SshServer().start()`; `.address`, `.client_key` (OpenSSH private key text), `.host_key`
("ssh-ed25519 AAAA…"), `.replace_host_key()` (the same server with another identity, for the
pinning test); `stop()` ends it and removes its folder.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.engine import free_port, wait_for

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def _ed25519() -> tuple[str, str]:
    """(private key in OpenSSH format, public key line)."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return private, public


class SshServer:
    def __init__(self, docker_host: str = "unix:///var/run/docker.sock"):
        self.root = Path(tempfile.mkdtemp(prefix="dockerweb-sshd-", dir="/var/tmp"))
        os.chmod(self.root, 0o700)
        self.port = free_port()
        self.docker_host = docker_host
        self.client_key, self._client_public = _ed25519()
        self.host_key = ""
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        private, public = _ed25519()
        host_key = self.root / "host_key"
        host_key.write_text(private)
        os.chmod(host_key, 0o600)
        self.host_key = " ".join(public.split()[:2])
        authorized = self.root / "authorized_keys"
        authorized.write_text(self._client_public + "\n")
        os.chmod(authorized, 0o600)
        config = self.root / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"PidFile {self.root / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    # The folder is in /var/tmp: its modes are ours, not a home directory's.
                    "StrictModes no",
                    # The portal opens one channel per pooled HTTP connection.
                    "MaxSessions 64",
                    f"SetEnv DOCKER_HOST={self.docker_host}",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        return config

    def start(self) -> "SshServer":
        # sshd wants its privilege-separation folder even when started by hand.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        config = self._write_config()
        log = open(self.root / "sshd.log", "wb")  # noqa: SIM115 - kept open for the process
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(self._answers, timeout=20, interval=0.1, message="sshd to listen")
        except BaseException:
            self.stop()
            raise
        return self

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = (self.root / "sshd.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"sshd exited: {log}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    def replace_host_key(self) -> None:
        """Start again on the same port with a new host key (what a man in the middle, or
        a reinstalled host, would present)."""
        self._end_process()
        self.start()

    def _sessions(self, pid: int) -> list[int]:
        """The per-connection sshd processes of ours (each in a session of its own, so not
        in our process group: they would outlive the listener and keep their logins)."""
        children = Path(f"/proc/{pid}/task/{pid}/children")
        try:
            return [int(child) for child in children.read_text().split()]
        except OSError:
            return []

    def _end_process(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            for child in self._sessions(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGTERM)
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def stop(self) -> None:
        self._end_process()
        shutil.rmtree(self.root, ignore_errors=True)
