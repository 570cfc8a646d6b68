"""Migration tests: build the database as it was before a migration, with the models of that
time, then run the migration for real (MigrationExecutor, as `manage.py migrate` does)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import StateApps


def migrate(app: str, name: str) -> StateApps:
    """Bring the database to `app`'s migration `name` (forward or back); the models as they
    were then."""
    executor = MigrationExecutor(connection)
    executor.migrate([(app, name)])
    executor.loader.build_graph()
    return executor.loader.project_state([(app, name)]).apps


def migrate_to_latest() -> None:
    """Bring the database to the latest migrations, where today's models fit it."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def migrator(transactional_db):
    """`migrate`, and the database back at the latest migrations afterwards."""
    yield migrate
    migrate_to_latest()
