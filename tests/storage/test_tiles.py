"""C2SP tlog-tiles from a stored log: paths, widths, and bytes that rebuild the root."""

from __future__ import annotations

import struct

import pytest

from storage import FormatError, LogStateError, Store, merkle
from storage.tiles import TileRef, encode_index, parse_tile_path, tile_path
from tests.factories import gap


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_encoding(n: int, text: str) -> None:
    assert encode_index(n) == text
    assert parse_tile_path(f"tile/0/{text}").index == n


def test_paths_round_trip_and_sumdb_form() -> None:
    for ref in (TileRef(0, 5, 256), TileRef(1, 1234, 17), TileRef(None, 2, 3)):
        assert parse_tile_path(tile_path(ref)) == ref
    assert parse_tile_path("tile/8/0/x001/234.p/5") == TileRef(0, 1234, 5)
    assert parse_tile_path("tile/8/data/000") == TileRef(None, 0, 256)


@pytest.mark.parametrize(
    "path", ["tile/0/1", "tile/0/0001", "tile/a/000", "tile/0/000.p/0", "tile/0/000.p/256", "x"]
)
def test_bad_paths(path: str) -> None:
    with pytest.raises(FormatError):
        parse_tile_path(path)


def test_tiles_rebuild_the_root(store: Store) -> None:
    store.append([gap(i, i + 1) for i in range(300)])
    size = store.size()
    leaves = store.read_tile(size, TileRef(0, 0, 256))
    leaves += store.read_tile(size, TileRef(0, 1, 44))
    hashes = [leaves[i : i + 32] for i in range(0, len(leaves), 32)]
    assert merkle.root(hashes) == store.root()
    level1 = store.read_tile(size, TileRef(1, 0, 1))
    assert level1 == merkle.root(hashes[:256])
    bundle = store.read_tile(size, TileRef(None, 1, 44))
    entries, at = [], 0
    while at < len(bundle):
        (n,) = struct.unpack(">H", bundle[at : at + 2])
        entries.append(bundle[at + 2 : at + 2 + n])
        at += 2 + n
    assert [merkle.leaf_hash(e) for e in entries] == hashes[256:]
    with pytest.raises(LogStateError):  # not yet full at this size
        store.read_tile(size, TileRef(0, 1, 256))
    with pytest.raises(LogStateError):  # a partial tile of another width
        store.read_tile(size, TileRef(0, 1, 40))
