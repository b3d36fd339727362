"""What ask reads from the catalog: blast radius for an answer, and service names in a question."""

from __future__ import annotations

from copilot.catalog import lookup
from copilot.db import Database


def test_dependents_put_what_customers_see_first(sample_db: Database) -> None:
    context = lookup.ask_context(sample_db, ["orders-db"], dependents_limit=3)
    assert context.dependents_total == 8
    assert len(context.dependents) == 3
    assert all(c.public_name for c in context.dependents)
    first = context.dependents[0]
    assert (first.name, first.public_name) == ("orders-service", "Orders")
    assert first.path == ["resource:default/orders-db", "component:default/orders-service"]
    assert first.owner is not None and first.owner.name == "Orders team"
    lines = context.lines()
    blast = next(line for line in lines if "blast radius" in line)
    assert "Orders service (user-facing: Orders)" in blast and "and 5 more" in blast


def test_names_in_a_question_are_entity_names_only(sample_db: Database) -> None:
    text = "checkout-api 500s and orders-db lag; the website and orders look fine; CHECKOUT-API"
    assert lookup.names_in(sample_db, text) == ["checkout-api", "orders-db"]
    assert lookup.names_in(sample_db, "vault sealed?") == ["vault"]
    assert lookup.names_in(sample_db, "a b c", limit=1) == []


def test_a_question_about_who_owns_something_names_it_by_its_alias(sample_db: Database) -> None:
    # Found as a new user: "who owns payments" gave the payments runbook and no owner: the
    # catalog knows `payments` only as an alias of payments-gateway.
    assert lookup.names_in(sample_db, "payments is timing out") == []
    assert lookup.names_in(sample_db, "who owns payments") == ["payments-gateway"]
    assert lookup.names_in(sample_db, "which team runs the Checkout?") == ["checkout-api"]
    assert lookup.names_in(sample_db, "who is on call for vault") == ["vault"]
    # As typed: "carts" for the alias `cart`, "payment" for `payments`.
    assert lookup.names_in(sample_db, "who owns carts") == ["cart-service"]
    assert lookup.names_in(sample_db, "who do i page for the payment stuff") == ["payments-gateway"]
    assert lookup.names_in(sample_db, "who owns gas") == []


def test_without_a_catalog_nothing_is_named(db: Database) -> None:
    assert lookup.names_in(db, "checkout-api is down") == []
    context = lookup.ask_context(db, ["checkout-api"])
    assert (context.affected, context.dependents, context.unmapped) == ([], [], ["checkout-api"])
