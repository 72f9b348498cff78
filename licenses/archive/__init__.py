"""Filing issued licenses to the archive as self-verifying, signed packages."""
