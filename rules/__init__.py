"""EstateWatch rules component."""
