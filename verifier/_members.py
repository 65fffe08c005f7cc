"""Reading a bundle's members: exactly the format's, each under its cap, and their
hashes against SHA256SUMS and the manifest (the ``zip`` check's second half).

Those two files are unsigned: they catch a bundle changed after export by someone who did
not also rewrite them (a damaged download, an edited sheet), nothing more. What makes a
bundle evidence is checked against the signed entries in :mod:`verifier.verify`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from storage import FormatError
from verifier._errors import BundleError
from verifier._layout import (
    C2PA_CLIP,
    CAPS,
    MANIFEST,
    MAX_VIDEO_BYTES,
    OPTIONAL,
    REQUIRED,
    SUMS,
    VIDEOS,
    view_of,
)
from verifier._manifest import FORMAT, Manifest, format_of
from verifier._zip import BundleZip, MemberError, Problem, Readable, find


@dataclass
class Contents:
    members: dict[str, bytes] = field(default_factory=dict)  # the small ones, by name
    manifest: Manifest | None = None  # None if missing or invalid (a problem says which)
    videos: list[str] = field(default_factory=list)  # the video members present
    optional: list[str] = field(default_factory=list)  # the optional members present
    views: list[str] = field(default_factory=list)  # further views' videos present
    problems: list[Problem] = field(default_factory=list)


def read_members(z: BundleZip) -> Contents:
    """Every member the format names, read under its cap, and the zip check's problems.

    Raises :class:`BundleError` for a bundle of another format version.
    """
    out = Contents()
    problems = out.problems
    known = {*REQUIRED, *VIDEOS, *OPTIONAL}
    for info in z.infos:
        name = info.filename
        if view_of(name) is not None:
            # Whether the clip has this view is the media check's question (signed entry).
            out.views.append(name)
            continue
        if name in known or name in ("entries/", "claim/"):
            continue
        if "trust" in name.lower():
            problems.append(
                Problem(
                    f"unexpected member {name!r}: a trust file inside a bundle is never "
                    "used (trust comes only from --trust); it was ignored",
                    "no trust file in the bundle",
                    name,
                )
            )
        else:
            problems.append(
                Problem(f"unexpected member {name!r}", "only the bundle format's members", name)
            )
    for name in REQUIRED:
        if find(z.infos, name) is None:
            problems.append(Problem(f"member {name!r} is missing", name, "nothing"))
    videos = [v for v in VIDEOS if find(z.infos, v) is not None]
    if len(videos) != 1:
        problems.append(
            Problem(
                f"expected one video ({' or '.join(VIDEOS)}), found {len(videos)}",
                "one video",
                ", ".join(videos) or "none",
            )
        )
    for name in REQUIRED:
        member = find(z.infos, name)
        if member is None:
            continue
        try:
            out.members[name] = z.read(member, CAPS[name])
        except MemberError as e:
            problems.append(e.problem)
    for name in OPTIONAL:
        member = find(z.infos, name)
        if member is None:
            continue
        out.optional.append(name)
        if name == C2PA_CLIP:
            continue  # a video: read in place by the c2pa check, never into memory
        try:
            out.members[name] = z.read(member, CAPS[name])
        except MemberError as e:
            problems.append(e.problem)
    raw = out.members.get(MANIFEST)
    if raw is not None:
        fmt = format_of(raw)
        if isinstance(fmt, str) and fmt.startswith("packseal-bundle/") and fmt != FORMAT:
            raise BundleError(
                f"{z.path} is a {fmt} bundle; this verifier reads {FORMAT}",
                hint="update packseal to verify it",
            )
        try:
            out.manifest = Manifest.from_bytes(raw)
            if fmt != FORMAT:
                raise FormatError(f"manifest format must be {FORMAT!r}, found {fmt!r}")
        except FormatError as e:
            out.manifest = None
            problems.append(Problem(f"{MANIFEST} is not valid: {e}", FORMAT, str(fmt)))
    out.videos = videos
    problems += _hash_problems(z, out)
    return out


def _hash_problems(z: BundleZip, out: Contents) -> list[Problem]:
    """Member hashes against SHA256SUMS and the manifest (unsigned: they catch a bundle
    edited after export by someone who did not also edit those)."""
    problems: list[Problem] = []
    actual = {n: hashlib.sha256(b).hexdigest() for n, b in out.members.items()}
    # The videos are not in memory; unhashed, a video whose SHA256SUMS line did not match
    # still got "their hashes match SHA256SUMS". Hashing costs ~1 ms per MB (SHA-NI).
    for name in (*out.videos, *out.views, *(n for n in out.optional if n == C2PA_CLIP)):
        info = find(z.infos, name)
        if info is None:
            continue
        try:
            actual[name] = _stream_sha256(z.open_video(info, CAPS.get(name, MAX_VIDEO_BYTES)))
        except MemberError as e:
            problems.append(e.problem)
    sums_raw = out.members.get(SUMS)
    if sums_raw is not None:
        sums, bad = _parse_sums(sums_raw)
        if bad:
            problems.append(Problem(f"{SUMS}: {bad}", "lines '<sha256>  <name>'", bad))
        listed = {n for n in (*REQUIRED, *out.videos, *out.views, *out.optional) if n != SUMS}
        for name in sorted(listed - sums.keys()):
            problems.append(Problem(f"{SUMS} does not list {name!r}", name, "no line"))
        for name in sorted(sums.keys() - listed):
            problems.append(Problem(f"{SUMS} lists {name!r}, which is not in the bundle"))
        for name, h in sorted(sums.items()):
            if name in actual and actual[name] != h:
                problems.append(
                    Problem(
                        f"member {name!r}: sha256 differs from {SUMS} (changed after export)",
                        h,
                        actual[name],
                    )
                )
    m, videos = out.manifest, out.videos
    if m is None:
        return problems
    if m.video not in videos:
        problems.append(
            Problem(
                f"the manifest names video {m.video!r}, the bundle holds "
                f"{', '.join(videos) or 'none'}",
                m.video,
                ", ".join(videos) or "none",
            )
        )
    for name in sorted(set(m.members) - {*REQUIRED, *VIDEOS, *OPTIONAL}):
        if view_of(name) is None:
            problems.append(Problem(f"the manifest lists an unknown member {name!r}"))
    for v in m.views:
        if v.member not in out.views:
            problems.append(
                Problem(
                    f"the manifest names {v.member!r} for view {v.view}, which is not in the "
                    "bundle",
                    v.member,
                    "nothing",
                )
            )
    for name, item in sorted(m.members.items()):
        info = find(z.infos, name)
        if name in actual and actual[name] != item.sha256:
            problems.append(
                Problem(
                    f"member {name!r}: sha256 differs from the manifest (changed after export)",
                    item.sha256,
                    actual[name],
                )
            )
        elif info is not None and info.file_size != item.size:
            problems.append(
                Problem(
                    f"member {name!r} is {info.file_size} bytes, the manifest says {item.size}",
                    str(item.size),
                    str(info.file_size),
                )
            )
    return problems


def _stream_sha256(f: Readable) -> str:
    f.seek(0)
    h = hashlib.sha256()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    while n := f.readinto(view) or 0:
        h.update(view[:n])
    return h.hexdigest()


def _parse_sums(data: bytes) -> tuple[dict[str, str], str | None]:
    out: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return out, "not UTF-8"
    for number, line in enumerate(text.splitlines(), 1):
        match = re.fullmatch(r"([0-9a-f]{64})  (\S.*)", line)
        if match is None:
            return out, f"line {number} is not '<sha256>  <name>'"
        if match[2] in out:
            return out, f"line {number} lists {match[2]!r} again"
        out[match[2]] = match[1]
    return out, None
