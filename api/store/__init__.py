"""Repository functions: keyword-only, given a session, never committing (the caller's unit
of work does)."""
