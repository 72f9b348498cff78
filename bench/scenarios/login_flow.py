"""Scenario 4: the whole interactive login, as a browser without JavaScript does it.

authorize → login form (``username``/``password``) → consent (``decision=allow``) →
code → token, following the testing contract in ARCHITECTURE.md. Compared with the
rate of the password hash alone at the configured Argon2id parameters: the limit.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import httpx

from bench.context import BenchContext
from bench.results import Row


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}, "buttons": []})
        elif self.forms and tag in {"input", "button"}:
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, dict)
            if tag == "input" and a.get("type") in {"hidden"} and a.get("name"):
                fields[a["name"]] = a.get("value", "")
            elif tag == "button" and a.get("name"):
                buttons = self.forms[-1]["buttons"]
                assert isinstance(buttons, list)
                buttons.append((a["name"], a.get("value", "")))


def _forms(html: str) -> list[dict[str, object]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def login_once(
    base_url: str,
    *,
    client: dict[str, str],
    username: str,
    password: str,
    scope: str,
    redirect_uri: str = "http://127.0.0.1:9/callback",
) -> dict[str, object]:
    """One complete login; returns the token response."""
    meta = httpx.get(f"{base_url}/.well-known/openid-configuration").json()
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    state = secrets.token_urlsafe(16)
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        response = browser.get(
            meta["authorization_endpoint"],
            params={
                "response_type": "code",
                "client_id": client["client_id"],
                "redirect_uri": redirect_uri,
                "scope": scope,
                "state": state,
                "nonce": secrets.token_urlsafe(16),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        for _ in range(10):
            location = response.headers.get("location")
            if location:
                if location.startswith(redirect_uri):
                    query = parse_qs(urlparse(location).query)
                    if "code" not in query:
                        raise RuntimeError(f"authorization failed: {query}")
                    code = query["code"][0]
                    break
                response = browser.get(urljoin(str(response.url), location))
                continue
            forms = _forms(response.text)
            if not forms:
                raise RuntimeError(f"no form on {response.url} ({response.status_code})")
            form = forms[0]
            data = dict(form["fields"])  # type: ignore[arg-type]
            if (
                "username" in response.text
                and "password" in response.text
                and "decision" not in response.text
            ):
                data.update(username=username, password=password)
            else:
                data["decision"] = "allow"
            response = browser.post(
                urljoin(str(response.url), str(form["action"]) or str(response.url)), data=data
            )
        else:
            raise RuntimeError("login did not finish within 10 steps")
        token = browser.post(
            meta["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
            auth=(client["client_id"], client["client_secret"]),
        )
        token.raise_for_status()
        return dict(token.json())


def obtain_citizen_token(
    base_url: str, *, client: dict[str, str], username: str, password: str, scope: str
) -> str:
    return str(
        login_once(base_url, client=client, username=username, password=password, scope=scope)[
            "access_token"
        ]
    )


def hash_limit(*, seconds: float, workers: int) -> float:
    """Argon2id verifications per second at the configured parameters, on ``workers`` processes."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        counts = list(pool.map(_hash_worker, [seconds] * workers))
    return sum(counts) / seconds


def _hash_worker(seconds: float) -> int:
    from argon2 import PasswordHasher

    from wallet_api.settings import load_settings

    s = load_settings()
    hasher = PasswordHasher(
        time_cost=s.argon2_time_cost,
        memory_cost=s.argon2_memory_cost,
        parallelism=s.argon2_parallelism,
    )
    digest = hasher.hash("Bench-password-2026!")
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        hasher.verify(digest, "Bench-password-2026!")
        n += 1
    return n


def run(
    ctx: BenchContext,
    *,
    gw_base: str,
    client: dict[str, str],
    username: str,
    password: str,
    workers: int,
) -> None:
    limit = hash_limit(seconds=ctx.seconds, workers=workers)
    ctx.report.add(
        Row("4", "argon2id verify (limit)", "limit", limit, "hash/s", concurrency=workers)
    )
    for concurrency in (1, workers * 4):
        rates = []
        latencies: list[float] = []
        for _ in range(ctx.rounds):
            deadline = time.perf_counter() + ctx.seconds
            started = time.perf_counter()
            done = 0

            def one() -> float:
                t = time.perf_counter()
                login_once(
                    gw_base, client=client, username=username, password=password, scope="openid"
                )
                return (time.perf_counter() - t) * 1000

            with ThreadPoolExecutor(concurrency) as pool:
                while time.perf_counter() < deadline:
                    batch = list(pool.map(lambda _i: one(), range(concurrency)))
                    latencies.extend(batch)
                    done += len(batch)
            rates.append(done / (time.perf_counter() - started))
        row = ctx.report.add(
            Row(
                "4",
                "interactive login",
                "govwallet",
                statistics.median(rates),
                "logins/s",
                concurrency=concurrency,
                p50_ms=statistics.median(latencies),
                p99_ms=sorted(latencies)[int(len(latencies) * 0.99) - 1] if latencies else None,
                rounds=rates,
            )
        )
    ctx.report.goal(
        "4",
        ">= 90% of the password-hash limit (concurrent)",
        row.value / limit if limit else None,
        target=0.9,
        detail=f"{row.value:.1f} logins/s vs {limit:.1f} hashes/s",
    )
