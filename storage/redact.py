"""Camera credentials out of everything a person or a file sees: one function.

An IP camera is named by a URL that usually carries its password
(``rtsp://admin:pw@10.0.0.5:554/Streaming/Channels/101``) or a token in its query
(``http://cam/video.mjpg?user=admin&pwd=pw``). The station needs it to connect; nobody
else does: not the logs, entries, sheets, pages, CLI output, exception messages or
ffmpeg's log. Every place that shows or stores a source or a message that may contain
one passes it through :func:`redact` first. It works on a bare URL and on any text
that embeds URLs (an ffmpeg error line, an OpenCV message), and is idempotent.

What it hides, for every ``scheme://`` URL in the text:

- the password of the userinfo (``user:***@``); a userinfo without a colon is a token
  as far as we can tell, and is hidden whole (``***@``). The userinfo runs to the *last*
  ``@`` before the path, as ffmpeg reads it, so an unencoded ``@`` in a password is
  hidden too;
- the value of query or fragment parameters whose name says secret (``password``,
  ``pwd``, ``pass``, ``passwd``, ``token``, ``auth``, ``key``, ``secret``, ``sig``,
  ``signature``, ``apikey``, ``access_token``), in any case.
"""

from __future__ import annotations

import re

__all__ = ["HIDDEN", "redact"]

HIDDEN = "***"

# scheme://userinfo@ : the authority ends at the first / ? # or whitespace; inside it, the
# userinfo is everything up to the last @ (greedy), as ffmpeg's url splitter takes it.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/?#\s]*)@")
_SECRET_PARAM = re.compile(
    r"(?i)([?&;#](?:password|passwd|pass|pwd|token|auth|key|secret|sig|signature|apikey|"
    r"api_key|access_token)=)[^&;#\s]*"
)


def _userinfo(match: re.Match[str]) -> str:
    scheme, info = match.group(1), match.group(2)
    user, colon, _ = info.partition(":")
    if not colon:
        return f"{scheme}{HIDDEN}@" if info else match.group(0)
    return f"{scheme}{user}:{HIDDEN}@"


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""
    return _SECRET_PARAM.sub(lambda m: m.group(1) + HIDDEN, _USERINFO.sub(_userinfo, text))
