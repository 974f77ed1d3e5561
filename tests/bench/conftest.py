"""The benchmark runs on a file-based SQLite database, as in production on one machine.

pytest-django's SQLite test database is in memory by default, which would
flatter every figure; this moves it to a file under pytest's temporary folder.
"""

import pytest


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory):
    from django.db import connections

    settings_dict = connections["default"].settings_dict
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        settings_dict.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("bench") / "bench.sqlite3")
