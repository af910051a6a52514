"""Emergencies run under a site's plans: incidents, their timeline, owners' notice and
review (docs/emergencies.md)."""
