"""The citizen's wallet: licenses by holder, presentations, online QR links (issue 5)."""
