"""Real-name accounts, authentication, levels of assurance and the OpenID provider."""
