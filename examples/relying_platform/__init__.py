"""A small relying platform: logs a citizen in through govwallet, asks for the licenses
one service item needs, verifies them offline and shows the paper it avoided."""
