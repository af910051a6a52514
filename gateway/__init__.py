"""EstateWatch gateway component."""
