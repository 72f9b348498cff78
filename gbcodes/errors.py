"""Errors of the national-code validators: which rule a value broke."""

from __future__ import annotations


class CodeError(ValueError):
    """A code broke one rule of its standard; ``rule`` names it, the message explains it."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
