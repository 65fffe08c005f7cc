"""Serving an app with uvicorn: in the foreground (``packseal serve``) or in a thread
(the station screen next to a recording station; tests).

The listening socket is bound here, before uvicorn starts, so a busy port is a clean
``PortInUse`` with a hint, and port 0 gives a free port with no race.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import uvicorn

from storage import PacksealError


class PortInUse(PacksealError):
    pass


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY on accepted
    # connections only for sockets that say they are TCP. Without it every keep-alive
    # response waited ~40 ms (Nagle against the client's delayed ACK; bench/web.py).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise PortInUse(
            f"cannot listen on {host}:{port}: {e.strerror}",
            hint="stop what uses that port, or choose another with --port (or web.* in "
            "config.yaml)",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _forwarded_allow(trusted_proxies: Sequence[str]) -> list[str]:
    # Networks in canonical form: uvicorn takes "10.0.0.5/24" (host bits set) for a
    # literal name that never matches, silently trusting nobody.
    return [
        str(net.network_address) if net.num_addresses == 1 else str(net)
        for net in (ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
    ]


def _config(
    app: Any,
    *,
    tls_cert: Path | None,
    tls_key: Path | None,
    access_log: bool,
    trusted_proxies: Sequence[str],
) -> uvicorn.Config:
    allow = _forwarded_allow(trusted_proxies)
    return uvicorn.Config(
        app,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 (or $FORWARDED_ALLOW_IPS) by
        # default, so any local process could forge its address past the failed-login
        # limit and into sessions and the chain of custody. Only named proxies count.
        proxy_headers=bool(allow),
        forwarded_allow_ips=allow,
        log_level="info" if access_log else "warning",
        access_log=access_log,
        lifespan="on",
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        # range requests of many players at once: keep connections, time out idle ones
        timeout_keep_alive=15,
    )


def serve_forever(
    app: Any,
    host: str,
    port: int,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    access_log: bool = True,
    trusted_proxies: Sequence[str] = (),
) -> None:
    """Serve in this thread until Ctrl-C / SIGTERM (uvicorn handles both)."""
    sock = bind(host, port)
    try:
        server = uvicorn.Server(
            _config(
                app,
                tls_cert=tls_cert,
                tls_key=tls_key,
                access_log=access_log,
                trusted_proxies=trusted_proxies,
            )
        )
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully, then re-raises the Ctrl-C it caught: for a
        # server that is the normal way to stop, not an interruption of work.
        pass
    finally:
        sock.close()


class ServerThread:
    """``with ServerThread(app, "127.0.0.1", 0) as s: httpx.get(s.url)``."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        access_log: bool = False,
        trusted_proxies: Sequence[str] = (),
    ) -> None:
        self.host = host
        self._sock = bind(host, port)
        self.port = int(self._sock.getsockname()[1])
        self.server = uvicorn.Server(
            _config(
                app,
                tls_cert=tls_cert,
                tls_key=tls_key,
                access_log=access_log,
                trusted_proxies=trusted_proxies,
            )
        )
        self._thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self._sock]},
            name=f"packseal-web-{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.server.config.ssl_certfile else "http"
        return f"{scheme}://{host}:{self.port}"

    def start(self, timeout: float = 15.0) -> Self:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise PacksealError(
                    f"the web server on port {self.port} stopped while starting",
                    hint="run with a free port; see the log lines above",
                )
            if time.monotonic() > deadline:
                raise PacksealError(f"the web server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
