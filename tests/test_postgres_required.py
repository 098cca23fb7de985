"""Guard: where PostgreSQL is required (CI sets CTPAT_REQUIRE_POSTGRES=1), the database tests really use it."""

import os

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.postgres


def test_database_tests_run_on_postgres_when_required(request):
    if not os.environ.get("CTPAT_TEST_DATABASE_URL"):
        if os.environ.get("CTPAT_REQUIRE_POSTGRES") == "1":
            pytest.fail("CTPAT_REQUIRE_POSTGRES=1 but CTPAT_TEST_DATABASE_URL is not set", pytrace=False)
        pytest.skip("CTPAT_TEST_DATABASE_URL is not set: the database tests run on SQLite")

    engine = request.getfixturevalue("engine")
    assert engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM country")).scalar() > 200
