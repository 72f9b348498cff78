"""``python -m wallet_api`` is ``govwallet``."""

from wallet_api.cli import main

main()
