"""The directory in Open Referral HSDS 3.0: JSON and CSV export, validated import.

The canonical form is *tabular*: one table per HSDS record type, each row a dict with the
columns of the HSDS table (``services.csv`` ...). Nested JSON is flattened into it on import
and built from it on export, so JSON and CSV share one mapping.

Lotse keeps more than HSDS (translations, target groups, women only, capacity, districts,
verification time ...). It travels in HSDS's own extension mechanism: ``attribute`` records
whose ``taxonomy_term`` belongs to the taxonomy "Lotse extensions" (fixed ids in ``mapping``), with
the value as JSON text; target groups are terms of the taxonomy "Lotse target groups" linked
to services as ``eligibility`` attributes; categories are ``category`` attributes. An export
therefore imports into an empty Lotse with nothing lost, and other HSDS tools simply see
attributes.

An import validates every record against the HSDS schemas, then maps it; every problem names
the record (type and id), the field (a JSON path) and the reason, and any problem leaves the
database unchanged. Fields Lotse cannot keep are reported as warnings, never dropped silently.

The stages, one module each: ``mapping`` (the HSDS tables, Lotse's extension vocabularies and
how values map), ``parse`` (reading and validating input), ``report`` (problems and warnings),
``importer`` (writing into Lotse) and ``export``; ``api`` and ``views`` serve them.
"""
