"""verify_presentation never raises: seeded random presentations, every check reported.

The module promises that bad input is reported check by check, never raised (the verify API
would answer 500, the offline CLI would crash). Hand-written cases cover each check; this
test mutates a real presentation at random (``tests/support/presentation_fuzz.py``), from a
fixed seed so that a failure repeats, with status lists of 1, 2, 4 and 8 bits holding any
value. It found a header ``crit`` that
is not a list, a non-ASCII character, a JWK on an unknown curve and a status value beyond
the named ones, each of which raised.
"""

from __future__ import annotations

import random
from datetime import timedelta

import orjson
import pytest

from licenses.verification import CHECKS, Outcome, verify_presentation
from tests.support.credentials import AUDIENCE, NONCE, NOW, CredentialWorld, world_fixture
from tests.support.presentation_fuzz import Mutator

world = world_fixture("verification-fuzz")

SEED = 20261207
ROUNDS = 2000


def test_no_presentation_makes_the_verification_raise(world: CredentialWorld) -> None:
    rng = random.Random(SEED)
    mutator = Mutator(world, rng)
    trust_list = world.trust_list()
    valid = 0
    for round_ in range(ROUNDS):
        presentation = mutator.presentation()
        bits = rng.choice((1, 2, 4, 8))
        statuses = {7: rng.randrange(1 << bits)} if rng.random() < 0.5 else {}
        try:
            result = verify_presentation(
                presentation=presentation,
                trust_list=trust_list,
                status_lists=world.status_lists(statuses, bits=bits),
                audience=AUDIENCE,
                nonce=NONCE,
                now=NOW,
                key_binding_max_age=timedelta(minutes=5),
                require_key_binding=rng.random() < 0.5,
            )
        except Exception as exc:  # the point: nothing may escape
            pytest.fail(f"round {round_} raised {exc!r} for {presentation!r}")
        assert list(result.checks) == list(CHECKS)
        for check in result.checks.values():
            if check.outcome is Outcome.FAILED:
                assert check.reason, check  # a person can act on it
                assert check.code, check
            elif check.outcome is Outcome.PASSED:
                assert check.reason is None, check
        orjson.dumps(result.as_dict())  # what the API and the CLI print
        valid += result.valid
    # The mutations leave some presentations valid (a decoy digest, a dropped disclosure):
    # the checks behind the signature ran, not only the first one.
    assert 0 < valid < ROUNDS
