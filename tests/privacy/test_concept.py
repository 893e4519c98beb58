"""The deletion concept covers every table with personal data, and docs/privacy.md shows it."""

import re
import uuid

import pytest
from sqlalchemy import Column, ForeignKey, MetaData, String, Table, Uuid

import directory.models  # noqa: F401  (each import registers its tables on the metadata)
import findings.models  # noqa: F401
import lotse.models
import lotse.outbox  # noqa: F401
import partners.models  # noqa: F401
import referrals.models  # noqa: F401
from lotse import PROJECT_ROOT
from lotse.app import create_app
from lotse.db import metadata
from lotse.i18n import language
from lotse.settings import get_settings
from privacy import concept, record

DOC = PROJECT_ROOT / "docs" / "privacy.md"


def test_every_table_with_personal_data_has_a_class():
    assert concept.tables_without_rule(metadata) == set()


def test_the_classes_name_only_tables_that_exist():
    named = {table for entry in concept.CLASSES for table in entry.tables}
    assert named <= set(metadata.tables)


def test_a_new_table_with_personal_data_and_no_rule_is_found():
    extended = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(extended)
    key = Column("id", Uuid(), primary_key=True, default=uuid.uuid4)
    Table("client_note", extended, key, Column("client_id", ForeignKey("client.id")))
    # Reaches a client only through a referral.
    Table(
        "referral_attachment",
        extended,
        Column("id", Uuid(), primary_key=True),
        Column("referral_id", ForeignKey("referral.id")),
    )
    Table(
        "user_preference",
        extended,
        Column("id", Uuid(), primary_key=True),
        Column("user_id", ForeignKey("user_account.id")),
    )
    Table("weather", extended, Column("id", Uuid(), primary_key=True), Column("sky", String(20)))

    assert concept.tables_without_rule(extended) == {
        "client_note",
        "referral_attachment",
        "user_preference",
    }


def test_the_keys_are_unique_and_followed_classes_have_periods():
    keys = [entry.key for entry in concept.CLASSES]
    assert len(keys) == len(set(keys))
    for entry in concept.CLASSES:
        assert (entry.period is None) == (entry.follows is not None), entry.key
        if entry.follows:
            assert concept.BY_KEY[entry.follows].period is not None
        if entry.period:
            assert entry.period.minimum <= entry.period.default <= entry.period.maximum


def test_the_deletion_table_in_docs_privacy_md_is_the_codes():
    found = re.search(
        r"<!-- begin: lotse privacy record --deletion-table -->\n(.*?)<!-- end -->",
        DOC.read_text(encoding="utf-8"),
        re.DOTALL,
    )
    assert found, "docs/privacy.md lost its markers around the deletion table"
    with language("en"):
        table = record.deletion_table(
            record.build(get_settings().model_copy(update={"retention_days": {}}))
        )
    assert found.group(1) == table, (
        "docs/privacy.md's deletion table is not the code's: paste the output of "
        "`python -m lotse.cli privacy record --deletion-table` between the markers"
    )


def test_the_app_refuses_to_start_with_a_period_out_of_bounds(engine):
    settings = get_settings().model_copy(update={"retention_days": {"clients": 10}})
    with pytest.raises(concept.RetentionSettingsError, match="between 180 and 1825 days, not 10"):
        create_app(settings, engine=engine)
