"""One module per group of benchmark scenarios."""
