"""Zone names in evidence: IANA keys, or UTC offsets at the instant for zones without one."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from storage.zones import is_zone_name, local_zone, zone_name, zone_of

JAN = 1_767_225_600_000  # 2026-01-01T00:00:00Z
JUL = 1_782_864_000_000  # 2026-07-01T00:00:00Z


class _Berlinish(dt.tzinfo):
    """A zone without an IANA key whose offset changes in summer, as a system zone can be."""

    def utcoffset(self, d: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(hours=2 if d is not None and 4 <= d.month <= 9 else 1)

    def dst(self, d: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(0)

    def fromutc(self, d: dt.datetime) -> dt.datetime:
        return d + self.utcoffset(d)


@pytest.mark.parametrize(
    ("zone", "at", "name"),
    [
        (ZoneInfo("Europe/Berlin"), JAN, "Europe/Berlin"),
        (dt.UTC, None, "UTC"),
        (dt.timezone(dt.timedelta(hours=5, minutes=30)), None, "UTC+05:30"),
        (dt.timezone(-dt.timedelta(hours=3)), JAN, "UTC-03:00"),
        (_Berlinish(), JAN, "UTC+01:00"),
        (_Berlinish(), JUL, "UTC+02:00"),
    ],
)
def test_zone_name(zone: dt.tzinfo, at: int | None, name: str) -> None:
    assert zone_name(zone, at) == name
    assert is_zone_name(name)
    back = zone_of(name)
    assert back is not None
    when = dt.datetime.fromtimestamp((at or JAN) / 1000, dt.UTC)
    assert when.astimezone(back).utcoffset() == when.astimezone(zone).utcoffset()


def test_zone_of_what_it_cannot_read() -> None:
    assert zone_of(None) is None
    assert zone_of("") is None
    assert zone_of("Nowhere/Atlantis") is None  # shaped like a name, unknown here
    assert zone_of("../../etc/passwd") is None


def test_local_zone_names_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    assert zone_name(local_zone("Asia/Kolkata")) == "Asia/Kolkata"
    monkeypatch.setenv("TZ", ":America/Lima")
    assert zone_name(local_zone()) == "America/Lima"
    monkeypatch.setenv("TZ", "Nowhere/Atlantis")  # falls through to /etc, then the offset
    fallback = local_zone()
    assert zone_name(fallback, JAN) is not None
    with pytest.raises(KeyError):  # ZoneInfoNotFoundError: a configured zone must exist
        local_zone("Nowhere/Atlantis")
