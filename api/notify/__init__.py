"""Notifications: channels, templates, routing and on-call, escalation, grouping, and the
outbox dispatcher that delivers them (docs/notifications.md)."""
