"""The govwallet benchmark harness (not run as tests; ``python -m bench``)."""
