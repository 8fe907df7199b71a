"""Readers: governed databases kept between queries see every commit, keep each governance
apart, bind only what changed, and stay bounded.

Expected values come from the ungoverned reader (``api.query``) over the same lakehouse.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest

from lakeshop.app import api
from lakeshop.app.access.govern import GovernedSession, QueryTimeout
from lakeshop.app.access.load import load_policy
from lakeshop.app.access.policy import Policy, Principal
from lakeshop.app.access.readers import Readers
from lakeshop.app.project import Project
from lakeshop.pipeline.graph import Graph
from lakeshop.pipeline.model import Kind, Table

STORES = "SELECT count(*) AS n FROM gold.dim_store"


@pytest.fixture
def demo(prebuilt: Any, tmp_path: Path) -> Project:
    """A copy of the demo: these tests commit to it."""
    return Project.load(prebuilt.demo_copy(tmp_path / "demo"))


def ask(readers: Readers, policy: Policy, who: str | Principal, sql: str) -> list[dict[str, Any]]:
    principal = policy.principal(who) if isinstance(who, str) else who
    session = GovernedSession(readers.project, principal, policy, readers=readers)
    return session.query(sql).to_pylist()


def append_copy(project: Project, table: str) -> None:
    """Commit the table's rows once more (a new Delta version with twice the rows)."""
    lakehouse = project.lakehouse()
    lakehouse.write(table, lakehouse.read(table), "append")


def test_a_commit_is_seen_by_the_next_query_and_nothing_else_is_bound_again(
    demo: Project,
) -> None:
    policy = load_policy(demo.directory)
    readers = Readers(demo)
    stored = api.query(demo, STORES).to_pylist()[0]["n"]
    assert ask(readers, policy, "ada", STORES) == [{"n": stored}]
    (database,) = readers._databases.values()
    bound = dict(database.bound)
    assert ask(readers, policy, "ada", STORES) == [{"n": stored}]
    assert database.bound == bound  # the same snapshot: not bound again
    append_copy(demo, "gold.dim_store")
    assert ask(readers, policy, "ada", STORES) == [{"n": 2 * stored}]
    assert database.bound["gold.dim_store"] == demo.lakehouse().version("gold.dim_store")
    assert list(readers._databases.values()) == [database]  # the same database throughout


def test_each_governance_keeps_its_own_masks_and_rows(demo: Project) -> None:
    policy = load_policy(demo.directory)
    readers = Readers(demo)
    emails = "SELECT email FROM gold.dim_customer WHERE email IS NOT NULL ORDER BY customer_sk"
    stored = [r["email"] for r in api.query(demo, emails).to_pylist()]
    stores = "SELECT DISTINCT store_id FROM gold.fact_sales ORDER BY 1"
    every_store = [r["store_id"] for r in api.query(demo, stores).to_pylist()]
    other = every_store[-1]
    assert other != "S001"
    sam = policy.principal("sam")
    sam_elsewhere = dataclasses.replace(sam, attributes={"store_id": other})
    for _ in range(2):  # in turn on the same readers: no governance sees another's views
        assert [r["email"] for r in ask(readers, policy, "ada", emails)] == stored
        masked = [r["email"] for r in ask(readers, policy, "ana", emails)]
        assert len(masked) == len(stored) and not set(masked) & set(stored)
        assert [r["store_id"] for r in ask(readers, policy, sam, stores)] == ["S001"]
        assert [r["store_id"] for r in ask(readers, policy, sam_elsewhere, stores)] == [other]
    assert len(readers._databases) == 4


def test_databases_are_bounded_and_a_retired_one_ends_its_query(demo: Project) -> None:
    policy = load_policy(demo.directory)
    readers = Readers(demo, capacity=2)
    slow = "SELECT count(*) AS n FROM gold.dim_store, range(30000000) r WHERE r.range < 0"
    results: list[Any] = []
    runner = threading.Thread(target=lambda: results.append(ask(readers, policy, "ada", slow)))
    runner.start()
    for user in ("ana", "fiona", "eric"):  # ada's database is retired while it runs
        assert ask(readers, policy, user, STORES)[0]["n"] > 0
    runner.join()
    assert results == [[{"n": 0}]]
    assert len(readers._databases) == 2
    readers.close()
    assert readers._databases == {}


def test_a_table_created_after_the_list_is_found_at_once(demo: Project) -> None:
    policy = load_policy(demo.directory)
    readers = Readers(demo)
    assert "gold.dim_store_copy" not in readers.tables()
    lakehouse = demo.lakehouse()
    lakehouse.write("gold.dim_store_copy", lakehouse.read("gold.dim_store"), "overwrite")
    copied = ask(readers, policy, "ada", "SELECT count(*) AS n FROM gold.dim_store_copy")
    assert copied == ask(readers, policy, "ada", STORES)
    # a table without a data file is bound as Arrow data, registered on each cursor too
    lakehouse.write("gold.no_stores", lakehouse.read("gold.dim_store").slice(0, 0), "overwrite")
    assert lakehouse.snapshot_files("gold.no_stores") == []
    for _ in range(2):
        assert ask(readers, policy, "ana", "SELECT count(*) AS n FROM gold.no_stores") == [{"n": 0}]


def test_a_declared_view_follows_the_commits_under_it(demo: Project) -> None:
    view = Table(
        "gold.store_names",
        Kind.VIEW,
        sql="SELECT store_id, name FROM gold.dim_store",
    )
    with_view = dataclasses.replace(demo, graph=Graph.build([*demo.graph.tables.values(), view]))
    policy = load_policy(demo.directory)
    readers = Readers(with_view)
    count = "SELECT count(*) AS n FROM gold.store_names"
    before = ask(readers, policy, "ana", count)[0]["n"]
    append_copy(demo, "gold.dim_store")
    assert ask(readers, policy, "ana", count) == [{"n": 2 * before}]


def test_the_timeout_stops_a_cursor_not_the_database(demo: Project) -> None:
    policy = load_policy(demo.directory)
    config = policy.config.model_copy(deep=True)
    analyst = config.roles["analyst"]
    config.roles["analyst"] = analyst.model_copy(update={"timeout_seconds": 0.5})
    quick = Policy(config, policy.file)
    readers = Readers(demo)
    ana = GovernedSession(demo, quick.principal("ana"), quick, readers=readers)
    with pytest.raises(QueryTimeout):
        ana.query(
            "SELECT count(*) FROM range(100000000) a, range(1000) b WHERE a.range * b.range = -1"
        )
    assert ask(readers, quick, "ana", STORES)[0]["n"] > 0  # the same database answers on
