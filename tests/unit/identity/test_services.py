"""The account services through their public functions, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from identity import services, totp
from identity.config import IdentityConfig
from identity.errors import (
    CitizenAlreadyRegistered,
    ImpossibleBirthDate,
    InvalidOtp,
    InvalidPhone,
    LoginFailed,
    LoginThrottled,
    MalformedIdNumber,
    RegisterEntryConflict,
    TotpAlreadyEnrolled,
    UnknownRegion,
    WeakPassword,
    WrongCheckCharacter,
)
from identity.models import Citizen, RecoveryCode
from identity.throttle import ThrottlePolicy
from tests.unit.identity.factories import PASSWORD, id_number
from wallet_api.runtime import Runtime
from wallet_api.settings import Settings

NOW = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)


def _register(
    runtime: Runtime, *, number: str | None = None, name: str = "张三", **extra: Any
) -> Citizen:
    with runtime.transaction() as session:
        return services.register_citizen(
            session,
            identity=runtime.identity,
            id_number=number or id_number(1),
            name=name,
            password=PASSWORD,
            **extra,
        )


@contextmanager
def _request(runtime: Runtime) -> Iterator[Session]:
    """A session as a route has one (``SessionDep``): commit on success, else roll back.

    Not ``runtime.transaction()``: a failed login commits its throttle count itself.
    """
    with runtime.sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _login(
    runtime: Runtime,
    username: str,
    password: str = PASSWORD,
    *,
    address: str = "192.0.2.1",
    now: datetime = NOW,
) -> Citizen:
    with _request(runtime) as session:
        return services.authenticate(
            session,
            identity=runtime.identity,
            username=username,
            password=password,
            client_address=address,
            now=now,
        )


# -- registration -----------------------------------------------------------------------


def test_register_without_register_entry_is_loa_1(runtime: Runtime) -> None:
    citizen = _register(runtime)
    assert citizen.loa == 1
    assert citizen.real_name_verified_at is None
    assert len(citizen.subject) >= 32


def test_register_matching_the_population_register_is_loa_2(runtime: Runtime) -> None:
    number = id_number(3)
    with runtime.transaction() as session:
        services.add_register_entry(
            session, identity=runtime.identity, id_number=number, name="李四"
        )
    assert _register(runtime, number=number, name="李四").loa == 2
    other = id_number(5)
    with runtime.transaction() as session:
        services.add_register_entry(
            session, identity=runtime.identity, id_number=other, name="王五"
        )
    assert _register(runtime, number=other, name="王六").loa == 1  # name does not match


def test_a_register_entry_added_later_raises_the_citizen_to_loa_2(runtime: Runtime) -> None:
    citizen = _register(runtime, number=id_number(11), name="赵六")
    with runtime.transaction() as session:
        services.add_register_entry(
            session, identity=runtime.identity, id_number=id_number(11), name="赵六"
        )
    with runtime.transaction() as session:
        assert session.get_one(Citizen, citizen.id).loa == 2


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("11010519491231002", MalformedIdNumber),
        ("000000200001011235", UnknownRegion),
        ("110105199902300023", ImpossibleBirthDate),
        ("110105194912310021", WrongCheckCharacter),
    ],
)
def test_register_refuses_each_kind_of_bad_number(
    runtime: Runtime, number: str, error: type
) -> None:
    with pytest.raises(error):
        _register(runtime, number=number)
    with runtime.transaction() as session:
        assert session.scalar(select(Citizen)) is None


def test_register_refuses_weak_password_bad_phone_and_duplicates(runtime: Runtime) -> None:
    with runtime.transaction() as session, pytest.raises(WeakPassword):
        services.register_citizen(
            session,
            identity=runtime.identity,
            id_number=id_number(1),
            name="张三",
            password="short",
        )
    with pytest.raises(InvalidPhone):
        _register(runtime, phone="12345")
    _register(runtime, phone="+86 138-0013-8000")
    with pytest.raises(CitizenAlreadyRegistered, match="identity number"):
        _register(runtime)
    with pytest.raises(CitizenAlreadyRegistered, match="phone"):
        _register(runtime, number=id_number(2), phone="13800138000")


def test_lower_case_x_registers_the_upper_case_number(runtime: Runtime) -> None:
    citizen = _register(runtime, number="11010119900307002x")
    assert services.citizen_id_number(identity=runtime.identity, citizen=citizen) == (
        "11010119900307002X"
    )
    assert _login(runtime, "11010119900307002X").id == citizen.id
    assert _login(runtime, "11010119900307002x").id == citizen.id


# -- login ------------------------------------------------------------------------------


def test_login_by_identity_number_or_phone(runtime: Runtime) -> None:
    citizen = _register(runtime, phone="13800138000")
    assert _login(runtime, id_number(1)).id == citizen.id
    assert _login(runtime, "13800138000").id == citizen.id
    assert _login(runtime, "+8613800138000").id == citizen.id


def test_unknown_account_and_wrong_password_fail_alike(runtime: Runtime) -> None:
    _register(runtime)
    with pytest.raises(LoginFailed) as wrong_password:
        _login(runtime, id_number(1), "Wrong-password-1")
    with pytest.raises(LoginFailed) as unknown:
        _login(runtime, id_number(2), PASSWORD)
    assert str(wrong_password.value) == str(unknown.value)
    assert wrong_password.value.extensions == unknown.value.extensions


def test_account_is_throttled_then_released(runtime: Runtime) -> None:
    _register(runtime)
    limit = runtime.identity.throttle.max_failures_per_account
    for _ in range(limit - 1):
        with pytest.raises(LoginFailed):
            _login(runtime, id_number(1), "Wrong-password-1")
    with pytest.raises(LoginThrottled) as caught:
        _login(runtime, id_number(1), "Wrong-password-1")
    assert caught.value.retry_after == runtime.identity.throttle.lockout.total_seconds()
    # even the right password is refused while locked, from another address too
    with pytest.raises(LoginThrottled, match="try again in 15 minutes"):
        _login(runtime, id_number(1), address="198.51.100.7", now=NOW + timedelta(seconds=30))
    later = NOW + runtime.identity.throttle.lockout + timedelta(seconds=1)
    assert _login(runtime, id_number(1), now=later).loa == 1


def test_unknown_accounts_are_throttled_like_known_ones(runtime: Runtime) -> None:
    limit = runtime.identity.throttle.max_failures_per_account
    errors = []
    for _ in range(limit):
        with pytest.raises((LoginFailed, LoginThrottled)) as caught:
            _login(runtime, id_number(9), "Wrong-password-1")
        errors.append(type(caught.value))
    assert errors == [LoginFailed] * (limit - 1) + [LoginThrottled]


def test_address_is_throttled_across_accounts(runtime: Runtime) -> None:
    identity = replace(
        runtime.identity,
        throttle=ThrottlePolicy(max_failures_per_account=50, max_failures_per_address=3),
    )
    _register(runtime)
    with _request(runtime) as session:
        for sequence in (20, 21):
            with pytest.raises(LoginFailed):
                services.authenticate(
                    session,
                    identity=identity,
                    username=id_number(sequence),
                    password="x",
                    client_address="203.0.113.9",
                    now=NOW,
                )
        with pytest.raises(LoginThrottled):
            services.authenticate(
                session,
                identity=identity,
                username=id_number(22),
                password="x",
                client_address="203.0.113.9",
                now=NOW,
            )
        with pytest.raises(LoginThrottled):  # the right password, from the locked address
            services.authenticate(
                session,
                identity=identity,
                username=id_number(1),
                password=PASSWORD,
                client_address="203.0.113.9",
                now=NOW,
            )
        assert services.authenticate(
            session,
            identity=identity,
            username=id_number(1),
            password=PASSWORD,
            client_address="203.0.113.10",
            now=NOW,
        )


def test_password_is_rehashed_when_argon2_parameters_change(
    runtime: Runtime, make_settings: Callable[..., Settings], database_url: str
) -> None:
    citizen = _register(runtime)
    old_hash = citizen.password_hash
    assert ",t=2," in old_hash
    stronger = IdentityConfig.from_settings(
        make_settings(database_url=database_url, argon2_time_cost=3)
    )
    with runtime.transaction() as session:
        services.authenticate(
            session,
            identity=stronger,
            username=id_number(1),
            password=PASSWORD,
            client_address="192.0.2.1",
        )
    with runtime.transaction() as session:
        new_hash = session.get_one(Citizen, citizen.id).password_hash
    assert new_hash != old_hash
    assert ",t=3," in new_hash
    assert _login(runtime, id_number(1)).id == citizen.id  # old parameters still verify


# -- second factor ----------------------------------------------------------------------


def _enrol(runtime: Runtime, citizen_id: uuid.UUID) -> tuple[str, list[str]]:
    with runtime.transaction() as session:
        citizen = session.get_one(Citizen, citizen_id)
        enrolment = services.begin_totp_enrolment(
            session, identity=runtime.identity, citizen=citizen
        )
        assert enrolment.uri.startswith("otpauth://totp/")
        assert "<svg" in enrolment.qr_svg
        with pytest.raises(InvalidOtp):
            services.confirm_totp_enrolment(
                session, identity=runtime.identity, citizen=citizen, otp="000000", now=NOW
            )
        codes = services.confirm_totp_enrolment(
            session,
            identity=runtime.identity,
            citizen=citizen,
            otp=totp.code_at(enrolment.secret, NOW),
            now=NOW,
        )
    return enrolment.secret, codes


def _second_factor(runtime: Runtime, citizen_id: uuid.UUID, otp: str, now: datetime = NOW) -> None:
    with runtime.transaction() as session:
        citizen = session.get_one(Citizen, citizen_id)
        services.verify_second_factor(
            session, identity=runtime.identity, citizen=citizen, otp=otp, now=now
        )


def test_totp_enrolment_then_verification_without_replay(runtime: Runtime) -> None:
    citizen = _register(runtime)
    secret, codes = _enrol(runtime, citizen.id)
    assert len(codes) == 10
    later = NOW + timedelta(seconds=60)
    code = totp.code_at(secret, later)
    _second_factor(runtime, citizen.id, code, now=later)
    with pytest.raises(InvalidOtp):
        _second_factor(runtime, citizen.id, code, now=later)  # replay in the same window
    with pytest.raises(InvalidOtp):
        _second_factor(runtime, citizen.id, totp.code_at(secret, NOW), now=later)  # older
    with runtime.transaction() as session, pytest.raises(TotpAlreadyEnrolled):
        services.begin_totp_enrolment(
            session, identity=runtime.identity, citizen=session.get_one(Citizen, citizen.id)
        )


def test_recovery_codes_work_once(runtime: Runtime) -> None:
    citizen = _register(runtime)
    _secret, codes = _enrol(runtime, citizen.id)
    _second_factor(runtime, citizen.id, codes[0].lower())
    with pytest.raises(InvalidOtp):
        _second_factor(runtime, citizen.id, codes[0])
    _second_factor(runtime, citizen.id, codes[1].replace("-", ""))
    with _request(runtime) as session:
        stored = session.scalars(select(RecoveryCode.code_digest)).all()
        assert services.unused_recovery_codes(citizen=session.get_one(Citizen, citizen.id)) == 8
    assert not any(code.replace("-", "") in digest for code in codes for digest in stored)


def test_wrong_codes_are_throttled(runtime: Runtime) -> None:
    citizen = _register(runtime)
    _enrol(runtime, citizen.id)
    limit = runtime.identity.throttle.max_failures_per_account
    for _ in range(limit - 1):
        with pytest.raises(InvalidOtp):
            _second_factor(runtime, citizen.id, "000000")
    with pytest.raises(LoginThrottled):
        _second_factor(runtime, citizen.id, "000000")


# -- claims and privacy -----------------------------------------------------------------


def test_claims_follow_scopes_and_the_id_number_needs_explicit_request(runtime: Runtime) -> None:
    citizen = _register(runtime, number="11010519491231002X", name="王芳", phone="13800138000")
    claims = services.citizen_claims(
        identity=runtime.identity, citizen=citizen, scopes=["openid", "profile", "phone", "idcard"]
    )
    assert claims == {
        "name": "王芳",
        "birthdate": "1949-12-31",
        "gender": "female",
        "loa": 1,
        "phone_number": "+8613800138000",
        "phone_number_verified": False,
    }
    with_number = services.citizen_claims(
        identity=runtime.identity, citizen=citizen, scopes=["idcard"], include_id_number=True
    )
    assert with_number == {"id_number": "11010519491231002X"}
    assert (
        services.citizen_claims(identity=runtime.identity, citizen=citizen, scopes=["openid"]) == {}
    )
    assert services.acr_for(citizen=citizen, second_factor=True) == "urn:govwallet:loa:1"


def test_loa_3_needs_real_name_and_second_factor(runtime: Runtime) -> None:
    number = id_number(30)
    with runtime.transaction() as session:
        services.add_register_entry(
            session, identity=runtime.identity, id_number=number, name="周七"
        )
    citizen = _register(runtime, number=number, name="周七")
    assert services.acr_for(citizen=citizen, second_factor=False) == "urn:govwallet:loa:2"
    assert services.acr_for(citizen=citizen, second_factor=True) == "urn:govwallet:loa:3"


def _database_text(runtime: Runtime) -> str:
    """Every row of every table, as text."""
    chunks = []
    with runtime.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                chunks.append(
                    " ".join(
                        value.hex() + " " + value.decode("latin-1")
                        if isinstance(value, bytes)
                        else str(value)
                        for value in row
                    )
                )
    return "\n".join(chunks)


def test_identity_and_phone_numbers_are_never_stored_in_plaintext(
    runtime: Runtime, tmp_path: Path
) -> None:
    number, phone = "11010519491231002X", "13912345678"
    with runtime.transaction() as session:
        services.add_register_entry(
            session, identity=runtime.identity, id_number=number, name="王芳"
        )
    citizen = _register(runtime, number=number, name="王芳", phone=phone)
    _login(runtime, number)
    with pytest.raises(LoginFailed):
        _login(runtime, phone, "Wrong-password-1")
    dumped = _database_text(runtime)
    assert citizen.subject in dumped  # the dump does see the rows
    for secret in (number, number[:17], phone, number.encode().hex(), phone.encode().hex()):
        assert secret not in dumped
    for path in tmp_path.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert number.encode() not in content, path
            assert phone.encode() not in content, path


def test_register_import_is_all_or_nothing(runtime: Runtime) -> None:
    good = [id_number(40), id_number(41)]
    bad_text = (
        "id_number,name\n"
        f"{good[0]},甲\n"
        "110105194912310021,乙\n"
        f"{good[1]},丙\n"
        "000000200001011235,丁\n"
        f"{good[0]},戊\n"
        f"{id_number(42)},\n"
    )
    with runtime.transaction() as session:
        report = services.import_register_csv(session, identity=runtime.identity, text=bad_text)
    assert [line for line, _ in report.errors] == [3, 5, 6, 7]
    assert "check character" in report.errors[0][1]
    assert "province" in report.errors[1][1]
    assert "line 2" in report.errors[2][1]
    assert report.added == 0
    with runtime.transaction() as session:
        assert not runtime.identity.register.confirms(session, id_number=good[0], name="甲")
    good_text = f"\ufeffid_number,name\n{good[0]},甲\n{good[1]},丙\n"
    with runtime.transaction() as session:
        report = services.import_register_csv(session, identity=runtime.identity, text=good_text)
    assert (report.added, report.unchanged, report.errors) == (2, 0, [])
    with runtime.transaction() as session:
        again = services.import_register_csv(session, identity=runtime.identity, text=good_text)
        assert runtime.identity.register.confirms(session, id_number=good[1], name="丙")
    assert (again.added, again.unchanged) == (0, 2)
    with runtime.transaction() as session:
        wrong_header = services.import_register_csv(
            session, identity=runtime.identity, text="number,name\n"
        )
    assert wrong_header.errors == [(1, "the header row must be exactly: id_number,name")]


def test_register_entry_conflict(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        assert services.add_register_entry(
            session, identity=runtime.identity, id_number=id_number(50), name="甲"
        )
        assert not services.add_register_entry(
            session, identity=runtime.identity, id_number=id_number(50), name="甲"
        )
        with pytest.raises(RegisterEntryConflict):
            services.add_register_entry(
                session, identity=runtime.identity, id_number=id_number(50), name="乙"
            )


def test_birth_facts(runtime: Runtime) -> None:
    citizen = _register(runtime, number="440524188001010014")
    facts = services.citizen_birth_facts(identity=runtime.identity, citizen=citizen)
    assert (facts.birth_date, facts.gender) == (date(1880, 1, 1), "male")


def test_unknown_account_costs_the_same_argon2_work(runtime: Runtime) -> None:
    """Timing does not tell an unknown account from a wrong password (dummy verify)."""
    identity = replace(
        runtime.identity,
        throttle=ThrottlePolicy(max_failures_per_account=100, max_failures_per_address=100),
    )
    _register(runtime)

    def attempt(username: str) -> float:
        with _request(runtime) as session:
            started = time.perf_counter()
            with pytest.raises(LoginFailed):
                services.authenticate(
                    session,
                    identity=identity,
                    username=username,
                    password="Wrong-password-1",
                    client_address="192.0.2.50",
                )
            return time.perf_counter() - started

    attempt(id_number(1))  # warm up
    known = sorted(attempt(id_number(1)) for _ in range(5))[2]
    unknown = sorted(attempt(id_number(77)) for _ in range(5))[2]
    assert 0.5 < unknown / known < 2.0
