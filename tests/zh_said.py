"""What Chinese output may keep in English, and whether a translated text kept its facts:
shared by the CLI's zh-CN tests (``tests/packseal/test_cli_i18n.py``) and the attack
suite (``tests/verifier/test_attacks.py``), which runs every vector's failure through
:func:`packseal.i18n.said`, as ``packseal verify`` and ``packseal audit`` show it."""

from __future__ import annotations

import re

from packseal.i18n import said

# ASCII words that may stay in Chinese output: names of things, formats and commands.
ALLOWED = {
    "packseal", "verify", "export", "keys", "trust", "force", "RFC", "SHA", "UTC", "QR",
    "C2PA", "README", "SHA256SUMS", "CLIP_ID", "FILE", "OK", "Test", "Shop", "MB", "bytes",
    "demo", "scene", "station", "fps", "json", "zip", "mp4", "c2pa", "png", "pdf",
    "Packing",  # the recording's station name, a fact
    "JSON", "KB", "box", "deflate", "Windows", "TSA", "ftyp", "tlog",  # formats, names
    "C2SP", "proof",  # "C2SP tlog-proof", a format's name
    "genTime", "Trusted", "Valid", "Invalid", "CA", "RTSP",  # terms, as they are named
    "moov", "free", "skip", "mdat", "moof", "styp", "uuid",  # MP4 box types
}  # fmt: skip
FACT = re.compile(
    r"`[^`]*`"  # a command
    r"|(?<![A-Za-z])'[^']*'(?![A-Za-z])"  # a quoted value
    r"|\S*[/\\.:@+_=#]\S*"  # paths, URLs, times, ids, keys, file names
    r"|\S*\d\S*"  # numbers, ids, hashes
    r"|[0-9a-f]{16,}"
)


def leftover_english(text: str) -> list[str]:
    """The lines of ``text`` with English words outside facts and allowed names."""
    found = []
    for line in text.splitlines():
        line = re.sub(r"「[^」]*」", " ", line)  # a third-party library's message, as made
        words = re.findall(r"[A-Za-z]{2,}", FACT.sub(" ", line))
        if any(w not in ALLOWED for w in words):
            found.append(line)
    return found


_EDGES = "()[],;:.…"


def facts(text: str) -> list[str]:
    """The facts of an English text: quoted values whole, else the tokens with digits or
    path/id punctuation, without the sentence's punctuation around them."""
    quoted = r"(?<![A-Za-z])'[^']*'(?![A-Za-z])"
    found = [m.group() for m in re.finditer(quoted, text)]
    for m in re.finditer(r"\S*[/\\.:@+_=#\d]\S*", re.sub(quoted, " ", text)):
        token = re.sub(r"'s$", "", m.group().strip("()[],;:"))  # "sheet.png's"
        token = token.rstrip(".") if not token.endswith("…") else token
        if re.search(r"[/\\.:@+_=#\d]", token) and not re.fullmatch(r"[a-z]+/[a-z]+", token):
            found.append(token)
    return found


def chinese_problems(text: str) -> list[str]:
    """What is wrong with ``text`` in zh-CN: no pattern knew it (English words left
    outside facts), a fact lost or altered, English left around the facts."""
    zh = said(text, "zh-CN")
    problems = []
    if zh == text and leftover_english(text):
        problems.append(f"no translation: {text!r}")
        return problems
    problems += [f"fact {f!r} lost in {zh!r}" for f in facts(text) if f not in zh]
    problems += [f"English left: {line!r}" for line in leftover_english(zh)]
    return problems
