"""The service directory: organisations, services, locations, taxonomy, search and geography."""

# Every session that writes directory rows records what changed for the search index.
from directory.search import changes as _changes  # noqa: F401
