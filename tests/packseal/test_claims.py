"""Retention of the buyer photos kept with claim checks: deleted after
claims.keep_photos_days, custody-logged, the report kept and the deletion said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from packseal.accounts import Accounts
from packseal.claims import DELETED, deleted_note, expire_photos, retain
from storage.db import connect, migrate
from storage.facts import rfc3339

DAY = 86_400_000
NOW = 1_800_000_000_000
REPORT = ("claim.json", "claim.png", "claim.pdf", "claim-1.png")


def kept(root: Path, clip: str, claim: str, checked_ms: int, photos: int = 2) -> Path:
    """A claim check as the portal keeps it: the report and the photos as uploaded."""
    where = root / clip / claim
    where.mkdir(parents=True)
    doc = {"format": "packseal-claim/v1", "order_id": f"SO-{clip}", "clip_id": clip}
    doc["checked_at"] = rfc3339(checked_ms)
    (where / "claim.json").write_text(json.dumps(doc))
    for name in REPORT[1:]:
        (where / name).write_bytes(b"report")
    for n in range(1, photos + 1):
        (where / f"photo-{n}").write_bytes(b"\xff\xd8\xff buyer photo" * n)
    (where / "listing").write_bytes(b"\x89PNG listing")
    return where


def test_photos_older_than_the_rule_go_and_the_report_stays(tmp_path: Path) -> None:
    old = kept(tmp_path, "01A", "a" * 16, NOW - 31 * DAY)
    young = kept(tmp_path, "01A", "b" * 16, NOW - 29 * DAY)
    other = kept(tmp_path, "01B", "c" * 16, NOW - 400 * DAY, photos=1)
    (tmp_path / "01A" / "not-a-claim").mkdir()  # left alone: not a claim id
    (tmp_path / "01A" / "not-a-claim" / "photo-1").write_bytes(b"x")

    dry = expire_photos(tmp_path, keep_days=30, now_ms=NOW, dry_run=True)
    assert [(e.clip_id, e.claim_id) for e in dry] == [("01A", "a" * 16), ("01B", "c" * 16)]
    assert (old / "photo-1").exists()
    assert not (old / DELETED).exists()

    done = expire_photos(tmp_path, keep_days=30, now_ms=NOW)
    assert done == dry
    assert done[0].files == ("listing", "photo-1", "photo-2")
    assert done[0].order_id == "SO-01A"
    assert done[0].bytes == len(b"\x89PNG listing") + 3 * len(b"\xff\xd8\xff buyer photo")
    for where in (old, other):
        assert sorted(p.name for p in where.iterdir()) == sorted([*REPORT, DELETED])
    assert (young / "photo-1").exists()
    assert (young / "listing").exists()
    assert (tmp_path / "01A" / "not-a-claim" / "photo-1").exists()
    note = deleted_note(old)
    assert note is not None
    assert note["deleted_at"] == rfc3339(NOW)
    assert note["rule"] == "claims.keep_photos_days = 30"
    assert note["files"] == ["listing", "photo-1", "photo-2"]
    assert "claim.json" in note["kept"]
    assert expire_photos(tmp_path, keep_days=30, now_ms=NOW + DAY // 2) == []  # nothing left


def test_an_unreadable_report_is_aged_by_its_files(tmp_path: Path) -> None:
    where = kept(tmp_path, "01A", "d" * 16, NOW)
    (where / "claim.json").write_text("{not json")
    # the files were written just now (this machine's clock): 30 days later they go
    import time

    later = round(time.time() * 1000) + 31 * DAY
    assert [e.claim_id for e in expire_photos(tmp_path, keep_days=30, now_ms=later)] == ["d" * 16]
    assert not (where / "photo-1").exists()


def test_no_claims_directory_and_a_bad_rule(tmp_path: Path) -> None:
    assert expire_photos(tmp_path / "missing", keep_days=30, now_ms=NOW) == []
    with pytest.raises(ValueError, match="keep_days must be at least 1"):
        expire_photos(tmp_path, keep_days=0, now_ms=NOW)


def test_each_deletion_is_a_custody_event_of_its_clip(tmp_path: Path, db_url: str) -> None:
    engine = connect(db_url)
    migrate(engine)
    try:
        accounts = Accounts(engine)
        kept(tmp_path, "01A", "a" * 16, NOW - 31 * DAY)
        assert retain(tmp_path, accounts, keep_days=30, now_ms=NOW, dry_run=True)
        assert accounts.custody("01A") == []  # a dry run logs nothing
        retain(tmp_path, accounts, keep_days=30, now_ms=NOW)
        [event] = accounts.custody("01A")
        assert (event.user, event.action, event.order_id) == (
            "retention",
            "claim-photos-deleted",
            "SO-01A",
        )
        assert event.detail == (
            f"claim {'a' * 16}: listing, photo-1, photo-2 deleted after 30 days "
            "(claims.keep_photos_days); the report stays"
        )
    finally:
        engine.dispose()


def test_a_claim_for_export_is_a_directory_or_a_kept_check_of_that_clip(tmp_path: Path) -> None:
    from packseal.claims import report_dir

    kept(tmp_path, "01A", "a" * 16, NOW)
    assert report_dir(tmp_path, "01A", "a" * 16) == tmp_path / "01A" / ("a" * 16)
    assert report_dir(tmp_path, "01B", str(tmp_path / "01A")) == tmp_path / "01A"  # a dir
    with pytest.raises(ValueError, match="is of clip 01A, not of clip 01B"):
        report_dir(tmp_path, "01B", "a" * 16)
    with pytest.raises(ValueError, match=r"no claim check b{16} is kept for clip 01A"):
        report_dir(tmp_path, "01A", "b" * 16)
    # a path that is no directory (not "../../etc": from a checkout two levels deep, as
    # CI's, that is /etc)
    with pytest.raises(ValueError, match="neither a directory nor a claim id"):
        report_dir(tmp_path, "01A", str(tmp_path / "no-such-report"))
