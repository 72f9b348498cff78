"""Argon2id hashing, re-hash on parameter change, and the strength rules."""

from __future__ import annotations

import pytest

from identity.errors import WeakPassword
from identity.passwords import Argon2Parameters, PasswordPolicy, Passwords, check_strength

POLICY = PasswordPolicy(min_length=10, max_length=128, min_character_classes=2)
FAST = Argon2Parameters(time_cost=1, memory_cost=8192, parallelism=1)


def test_hash_is_argon2id_with_the_configured_parameters() -> None:
    passwords = Passwords(FAST, POLICY)
    hashed = passwords.hash("correct-Horse-7")
    assert hashed.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert passwords.verify(hashed, "correct-Horse-7").ok
    assert not passwords.verify(hashed, "correct-Horse-8").ok
    assert not passwords.verify("not a hash", "correct-Horse-7").ok


def test_a_hash_made_with_old_parameters_needs_rehash() -> None:
    old = Passwords(FAST, POLICY).hash("correct-Horse-7")
    stronger = Passwords(Argon2Parameters(time_cost=2, memory_cost=8192), POLICY)
    result = stronger.verify(old, "correct-Horse-7")
    assert result.ok
    assert result.needs_rehash
    assert not stronger.verify(stronger.hash("correct-Horse-7"), "correct-Horse-7").needs_rehash


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Short-1", "at least 10 characters"),
        ("a" * 100 + "B1" * 20, "at most 128 characters"),
        ("alllowercaseletters", "mix at least 2"),
        ("aaaaaaaaaaAAAAAA", "too few different characters"),
        ("Password123", "most common passwords"),
        ("me11010519491231002Xyes", "identity number"),
        ("Born19491231!", "birth date"),
        ("tab\tinside-Password9", "control characters"),
    ],
)
def test_weak_passwords_are_refused_with_the_rule(password: str, message: str) -> None:
    with pytest.raises(WeakPassword, match=message) as caught:
        check_strength(password, policy=POLICY, personal=("11010519491231002X", "19491231"))
    assert caught.value.extensions["field"] == "password"
    assert caught.value.extensions["rule"]
    assert password not in str(caught.value)


@pytest.mark.parametrize("password", ["correct-Horse-7", "长城长城长城abc1", "twelve words go 9"])
def test_strong_passwords_pass(password: str) -> None:
    check_strength(password, policy=POLICY, personal=("11010519491231002X",))


def test_dummy_verify_does_the_same_argon2_work() -> None:
    passwords = Passwords(FAST, POLICY)
    passwords.dummy_verify("anything at all")  # returns nothing, raises nothing
