"""Finding services: the in-memory index, how it follows changes, ranking and the summaries it shows."""
