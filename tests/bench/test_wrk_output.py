"""The harness reads wrk's output: a run that answered errors can never pass for a fast one."""

from __future__ import annotations

from bench.load import parse_wrk

WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:8000/nope
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   277.63us  120.97us   3.26ms   92.12%
  Latency Distribution
     50%  255.00us
     99%  1.50ms
  3557 requests in 1.00s, 1.01MB read
{socket}Requests/sec:   3551.93
Transfer/sec:      1.01MB
{script}"""


def test_wrk_non_2xx_count_is_read_even_without_the_script_count() -> None:
    out = WRK_OUTPUT.format(socket="  Non-2xx or 3xx responses: 3557\n", script="")
    result = parse_wrk(out)
    assert result.non_2xx == 3557
    assert result.requests == 3557
    assert result.p50_ms == 0.255
    assert result.p99_ms == 1.5


def test_script_count_and_socket_errors_are_read() -> None:
    out = WRK_OUTPUT.format(
        socket="  Socket errors: connect 0, read 2, write 0, timeout 3\n",
        script="BENCH_NON_2XX 7\n",
    )
    result = parse_wrk(out)
    assert result.non_2xx == 7
    assert result.errors == 5


def test_a_clean_run_has_no_errors() -> None:
    result = parse_wrk(WRK_OUTPUT.format(socket="", script="BENCH_NON_2XX 0\n"))
    assert (result.non_2xx, result.errors) == (0, 0)
    assert result.requests_per_second == 3551.93
