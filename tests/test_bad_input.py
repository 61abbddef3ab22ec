"""Hostile input: every bad value gets one clear line on stderr and the documented exit code."""

from __future__ import annotations

import pytest


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and "internal error" not in err, err
    return lines[-1]


@pytest.mark.parametrize("args", [("--timeout", "inf"), ("-P", "0"), ("-P", "70000"), ("-P", "-1")])
def test_out_of_range_global_option_is_a_usage_error(tsd, args):
    code, _, err = tsd(*args, "devices")
    assert code == 2, err
    assert "Invalid value" in one_error_line(err)
