"""Benchmarks of vitale_cred: ``python -m benchmarks`` (see README.md here)."""
