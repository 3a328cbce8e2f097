"""prepare's helpers: the codes still being made in a thread."""

from __future__ import annotations

import pytest

from gaopin.rules.prepare import Awaited


def test_an_awaited_value_is_made_once_when_first_read():
    made = []

    def person() -> list[int]:
        made.append(1)
        return [7, 8]

    codes = Awaited({"point": [1, 2]}, {"person": person})
    assert "person" in codes and "problem" not in codes and made == []  # asking does not wait
    assert list(codes) == ["point", "person"] and len(codes) == 2 and made == []
    assert codes["person"] == [7, 8] and codes["person"] == [7, 8] and made == [1]
    assert dict(codes) == {"point": [1, 2], "person": [7, 8]} and made == [1]
    assert codes.get("problem") is None


def test_an_error_made_in_the_thread_is_raised_where_the_value_is_read():
    def failing():
        raise ValueError("linking failed")

    codes = Awaited({}, {"person": failing})
    assert "person" in codes
    with pytest.raises(ValueError, match="linking failed"):
        codes["person"]
