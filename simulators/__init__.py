"""EstateWatch simulators component."""
