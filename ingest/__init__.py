"""EstateWatch ingest component."""
