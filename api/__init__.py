"""EstateWatch api component."""
