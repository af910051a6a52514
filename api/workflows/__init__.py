"""Use cases of the API: what happens when an alarm arrives, an order moves, a clock runs
out. They take a session and the time, call the domain rules and the stores, and know
nothing of HTTP or FastAPI."""
