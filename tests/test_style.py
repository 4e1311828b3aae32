"""House rules that a test can hold: the request or job scope owns the transaction."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "shua"


def test_only_the_unit_of_work_commits() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in SRC.rglob("*.py")
        # db.py is the unit of work; sqlite_driver.py is the DBAPI adapter under it (its commit()
        # is the driver's, called by the unit of work).
        if path.name not in ("db.py", "sqlite_driver.py") and "migrations" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\.commit\(", line)
    ]
    assert offenders == [], "services never commit; use Database.transaction()"


def test_contexts_do_not_import_from_web() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.parent.name not in {"web", "shua"} and not path.name.endswith("routes.py")  # routes.py, x_routes.py
        and re.search(r"^from shua\.web|^import shua\.web", path.read_text(encoding="utf-8"), re.M)
    ]
    assert offenders == [], "only routes may depend on the web layer"


def test_core_never_imports_a_context() -> None:
    contexts = {p.name for p in SRC.iterdir() if p.is_dir() and p.name not in {"core", "web", "migrations", "i18n"}}
    offenders = [
        str(path.relative_to(SRC))
        for path in (SRC / "core").rglob("*.py")
        for context in contexts
        if re.search(rf"^from shua\.{context}\b|^import shua\.{context}\b", path.read_text(encoding="utf-8"), re.M)
    ]
    assert offenders == [], "if core/ would import a context, it is not core"
