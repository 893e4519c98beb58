"""Import a region's locations from the Integreat app, with every language's text.

Integreat's public API lists a region's locations per language at
``/api/v3/{region}/{language}/locations/`` (DESIGN.md, "Interoperability"). Each location
becomes a service at a location of an organisation (shared when Integreat names one); German is
the source text, the other languages become human translations, because the city maintains
them in Integreat.

Re-imports find their listings through ``ExternalRecord`` and compare three values per field:
what the last import wrote (the record's snapshot), what the listing holds now, and what
Integreat says today. A field Integreat did not change is left alone; a field only Integreat
changed is updated; a field that a coordinator changed as well goes to the review queue instead
of being overwritten.

The stages: ``client`` reads the feeds, ``mapping`` plans every location before anything is
written, ``importer`` hands the values to the one writer (``directory.apply``).
"""
