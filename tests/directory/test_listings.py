"""Browsing filters: category (with children), district, target group, language, combined."""

import pytest
from sqlmodel import select

from directory import listings
from directory.listings import ServiceFilters, UnknownFilterValue
from directory.models import ServiceStatus


def codes_of(service):
    return {term.code for term in service.categories}


def all_of(session, **filters):
    return listings.list_services(
        session=session, filters=ServiceFilters(**filters), page=1, per_page=500
    ).items


def test_top_level_category_includes_its_children(session):
    language_services = all_of(session, category="sprache")
    children = {
        "integrationskurs",
        "berufssprachkurs",
        "alphabetisierung",
        "deutschkurs-offen",
        "sprachcafe",
        "dolmetschen",
    }
    assert language_services
    assert all(codes_of(s) & (children | {"sprache"}) for s in language_services)
    courses = all_of(session, category="integrationskurs")
    assert courses and len(courses) < len(language_services)
    assert {s.id for s in courses} <= {s.id for s in language_services}


def test_district_filter(session):
    haspe = all_of(session, district="haspe")
    assert haspe
    for service in haspe:
        assert "haspe" in {loc.district.code for loc in service.locations}


def test_target_group_filter_includes_offers_for_everyone(session):
    ukraine = all_of(session, target_group="ukraine_24")
    groups = [{g.code for g in s.target_groups} for s in ukraine]
    assert any("ukraine_24" in g for g in groups)
    assert any(g == {"everyone"} for g in groups)
    assert all(g & {"ukraine_24", "everyone"} for g in groups)


def test_spoken_language_filter(session):
    ukrainian = all_of(session, language="uk")
    assert ukrainian
    assert all("uk" in {lg.code for lg in s.languages} for s in ukrainian)


def test_filters_combine_with_and(session):
    combined = all_of(session, category="sprache", district="mitte", language="ar")
    for service in combined:
        assert "mitte" in {loc.district.code for loc in service.locations}
        assert "ar" in {lg.code for lg in service.languages}
    assert len(combined) <= min(
        len(all_of(session, category="sprache")), len(all_of(session, district="mitte"))
    )


def test_unknown_codes_are_reported_not_ignored(session):
    for filters in ({"category": "nope"}, {"district": "berlin"}, {"target_group": "martians"}):
        with pytest.raises(UnknownFilterValue):
            all_of(session, **filters)


def test_inactive_services_are_not_listed(session):
    listed = all_of(session)
    assert all(s.status in (ServiceStatus.active, ServiceStatus.temporarily_closed) for s in listed)


def test_pages_do_not_overlap_and_cover_everything(session):
    first = listings.list_services(session=session, filters=ServiceFilters(), page=1, per_page=50)
    second = listings.list_services(session=session, filters=ServiceFilters(), page=2, per_page=50)
    assert first.total == second.total >= 150
    assert not {s.id for s in first.items} & {s.id for s in second.items}
    assert first.pages == -(-first.total // 50)


def test_taxonomy_tree_counts(session):
    tree = listings.taxonomy_tree(session=session)
    assert len(tree) == 10
    for node in tree:
        assert node.children
        assert node.service_count == len(all_of(session, category=node.term.code))
        assert node.service_count <= sum(child.service_count for child in node.children)


def test_neighbours_at_same_location_and_provider(session):
    from directory.models import Service

    for service in session.exec(select(Service)).all():
        nearby = listings.neighbours(session=session, service=service)
        assert service.id not in {s.id for s in nearby.at_same_location + nearby.of_same_provider}
        if nearby.at_same_location:
            here = {loc.address.address_1 for loc in service.locations}
            assert all(
                here & {loc.address.address_1 for loc in s.locations}
                for s in nearby.at_same_location
            )
            return
    pytest.fail("the demo has no two services at one location")
