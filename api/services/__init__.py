"""Pure logic of the API: no I/O, table-tested without servers."""
