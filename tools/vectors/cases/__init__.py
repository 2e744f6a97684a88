"""The vector cases, one module per area."""
