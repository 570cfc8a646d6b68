"""A real IMAP server for the calendar-reply tests: Debian's dovecot, started on a free port
of 127.0.0.1 with a throwaway configuration, one mailbox and a password."""

import getpass
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from tests.services import DOVECOT

USER, PASSWORD = "rsvp@replies.example.com", "a-password-for-tests"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    def __init__(self) -> None:
        # Not under pytest's tmp_path (mode 700): dovecot's unprivileged processes must
        # reach the mail folder.
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Dovecot":
        root = self.root
        os.chmod(root, 0o755)  # noqa: S103 - dovecot's own users must reach the mailbox
        for name in ("run", "state", "home"):
            (root / name).mkdir()
        if os.geteuid() == 0:
            # Dovecot refuses mail access as root: the mailbox belongs to Debian's `mail`.
            internal, login, mail_user = "dovecot", "dovenull", "mail"
            shutil.chown(root / "home", "mail", "mail")
        else:
            internal = login = mail_user = getpass.getuser()
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        config = root / "dovecot.conf"
        config.write_text(
            CONFIG.format(
                root=root,
                port=self.port,
                internal=internal,
                login=login,
                mail_user=mail_user,
                mail_group=mail_user,
            )
        )
        self.config = config
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
        self.__exit__(None, None, None)
        raise RuntimeError(f"dovecot did not start: {log[-2000:]}")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            subprocess.run(
                [DOVECOT, "-c", str(self.config), "stop"], capture_output=True, timeout=20
            )
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def plain_url(self) -> str:
        """The mailbox's URL as is: this dovecot has no TLS, so the poll refuses it."""
        return (
            f"imap://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}/INBOX"
        )

    @property
    def url(self) -> str:
        """The URL that allows a login without TLS (a server on this host)."""
        return f"{self.plain_url}?insecure=1"

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        """Each message's flags, in order."""
        conn = self.client()
        try:
            conn.select(folder)
            _status, data = conn.fetch("1:*", "(FLAGS)")
            return [d for d in data if isinstance(d, bytes)]
        finally:
            conn.logout()

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(USER, PASSWORD)
        return conn

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message in the mailbox, as the mail server does when one arrives."""
        conn = self.client()
        try:
            status, answer = conn.append(folder, None, None, raw)
            assert status == "OK", answer
        finally:
            conn.logout()

    def unseen(self, folder: str = "INBOX") -> int:
        conn = self.client()
        try:
            conn.select(folder)
            _status, data = conn.uid("SEARCH", "UNSEEN")
            return len(data[0].split()) if data and data[0] else 0
        finally:
            conn.logout()
