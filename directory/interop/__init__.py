"""Directory data in and out: HSDS, Integreat, import jobs and their limits."""
