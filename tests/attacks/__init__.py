"""Named attacks: one module per attack class, each test asserting the exact error."""
