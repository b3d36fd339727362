"""Backstage descriptors: references with Backstage's defaults, and every bad input named with
its line, without the rest of the file being lost."""

from __future__ import annotations

import pytest

from copilot.catalog.parse import MAX_FILE_BYTES, FileError, parse_bytes, parse_ref
from tests.catalog.conftest import docs, entity


@pytest.mark.parametrize(
    ("value", "default_kind", "namespace", "expected"),
    [
        ("checkout-api", "component", "default", "component:default/checkout-api"),
        ("resource:orders-db", "component", "default", "resource:default/orders-db"),
        ("team-a", "group", "shop", "group:shop/team-a"),  # the referring entity's namespace
        ("Group:Other/Team-A", "group", "shop", "group:other/team-a"),
        ("api:payments", None, "default", "api:default/payments"),
    ],
)
def test_references_take_backstage_defaults(
    value: str, default_kind: str | None, namespace: str, expected: str
) -> None:
    assert parse_ref(value, default_kind=default_kind, default_namespace=namespace) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [("widget:foo", "unknown kind"), ("component:bad name", "invalid name"), ("foo", "kind")],
)
def test_bad_references_say_why(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_ref(value, default_kind=None)


def test_entities_carry_their_relations_aliases_and_lines() -> None:
    text = docs(
        entity(
            "Component",
            "checkout-api",
            spec="type: service\nowner: team-checkout\nsystem: shop\n"
            "dependsOn:\n  - resource:orders-db\n  - payments\nprovidesApis: [checkout]",
            meta="title: Checkout API\nannotations:\n  copilot/aliases: checkout, co\n"
            "  pagerduty.com/service-id: PABC123",
        ),
        entity("Group", "team-checkout", spec="type: team\nchildren: []\nmembers: [alex]"),
    )
    parsed = parse_bytes(text.encode(), "cat.yaml")
    assert parsed.problems == []
    first, second = parsed.entities
    assert (first.ref, first.line, second.line) == ("component:default/checkout-api", 1, 18)
    assert sorted(first.relations) == [
        ("dependsOn", "component:default/payments", 15),
        ("dependsOn", "resource:default/orders-db", 14),
        ("ownedBy", "group:default/team-checkout", 11),
        ("partOf", "system:default/shop", 12),
        ("providesApi", "api:default/checkout", 16),
    ]
    assert {a for a, _ in first.aliases} == {
        "checkout-api",
        "checkout api",
        "checkout",
        "co",
        "pabc123",
    }
    assert ("hasMember", "user:default/alex", 25) in second.relations


def test_a_bad_entity_is_named_with_its_line_and_the_others_go_in() -> None:
    text = docs(
        entity("Component", "good-one", spec="type: service"),
        entity("Widget", "strange"),
        entity("Component", "bad name!"),
        entity("Component", "good-two", spec="dependsOn: [widget:nope]"),
        entity("Component", "good-one"),
    )
    parsed = parse_bytes(text.encode(), "cat.yaml")
    assert [e.name for e in parsed.entities] == ["good-one", "good-two"]
    assert [(p.line, p.message.split(" ")[0]) for p in parsed.problems] == [
        (9, "unknown"),
        (16, "metadata.name"),
        (23, "spec.dependsOn:"),
        (25, "component:default/good-one"),
    ]
    assert "defined twice" in parsed.problems[-1].message


def test_invalid_yaml_names_the_line() -> None:
    text = entity("Component", "a") + "spec:\n  dependsOn: [unclosed\n"
    with pytest.raises(FileError) as caught:
        parse_bytes(text.encode(), "bad.yaml")
    assert caught.value.problem.file == "bad.yaml"
    assert caught.value.problem.line >= 6
    assert "invalid YAML" in caught.value.problem.message


def test_non_utf8_names_the_line_of_the_first_bad_byte() -> None:
    raw = entity("Component", "a").encode() + b"  description: caf\xe9\n"
    with pytest.raises(FileError) as caught:
        parse_bytes(raw, "latin1.yaml")
    assert (caught.value.problem.line, caught.value.problem.message) == (5, "not UTF-8 text")


def test_an_alias_bomb_is_refused_without_expanding_it() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    bomb = entity("Component", "bomb") + "spec:\n" + "".join(f"  {x}\n" for x in lines)
    with pytest.raises(FileError, match="alias bomb"):
        parse_bytes(bomb.encode(), "bomb.yaml")


def test_a_huge_file_is_refused_by_size() -> None:
    with pytest.raises(FileError, match="bytes, more than"):
        parse_bytes(b"#" * (MAX_FILE_BYTES + 1), "huge.yaml")


def test_a_mapping_is_required_and_other_api_versions_refused() -> None:
    text = docs(
        "- just\n- a list\n", entity("Component", "x").replace("backstage.io", "example.com")
    )
    parsed = parse_bytes(text.encode(), "odd.yaml")
    assert parsed.entities == []
    assert [p.line for p in parsed.problems] == [1, 4]
