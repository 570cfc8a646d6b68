"""The contact rules on the embedded database: `make run` on a machine with no services runs
on SQLite, where the do-not-contact check (one UNION of entries and suppressions) must work
as on PostgreSQL. SQLite refuses an ORDER BY inside a compound statement, which the entries'
default ordering once put there: every invitation preview and draw then answered 500."""

import json
import subprocess
import sys

from events.services import contact
from tests.conftest import ROOT, local_env

SCRIPT = """
import json
from events.models import Team
from events.services import contact
team = Team.objects.create(name="Lab", slug="lab")
contact.unsubscribe(team=team, email="Gone@Example.com")
contact.unsubscribe(team=team, email="erased@example.com")
entries = team.contact_blocks.filter(email="erased@example.com")
contact.suppress(list(entries))
entries.delete()
asked = ["gone@example.com", "erased@example.com", "new@example.com"]
print(json.dumps(contact.blocked_emails(team.pk, asked)))
"""


def test_the_do_not_contact_check_works_on_the_embedded_sqlite_database(sqlite_file):
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SCRIPT],
        cwd=ROOT,
        env=local_env(sqlite_file),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # The unsubscribed address by its entry, the erased one by its digest, the new one not.
    assert found == {"gone@example.com": "unsubscribed", "erased@example.com": contact.SUPPRESSED}
