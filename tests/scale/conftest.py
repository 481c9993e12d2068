"""Several openlive nodes behind a real nginx (Debian's, installed by `make install-dev`),
sharing a real redis-server: each a process of its own on a loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from live_client import OnLoopback, ServedProcess, free_port

START_TIMEOUT = 120.0  # a busy 2-core machine


def _wait_port(port: int, proc: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{what} did not start on port {port}:\n{log.read_text()[-3000:]}",
                        pytrace=False)
        time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _exe(name: str) -> str:
    exe = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if exe is None:
        pytest.fail(f"{name} is not installed: run `make install-dev` (it installs Debian's "
                    f"{name})", pytrace=False)
    return exe


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "redis.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([_exe("redis-server"), "--port", str(port), "--bind",
                                 "127.0.0.1", "--dir", str(tmp_path), "--save", "",
                                 "--appendonly", "no"], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_port(port, proc, "redis-server", log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


class Node(ServedProcess):
    """One `openlive serve` process on its own (fixed) port."""

    def __init__(self, workdir: Path, name: str, *args: str) -> None:
        self.name = name
        try:
            super().__init__(workdir / f"{name}.log", "--no-console", *args,
                             port=free_port(), timeout=START_TIMEOUT)
        except AssertionError as exc:
            pytest.fail(f"node {name}: {exc}", pytrace=False)


NGINX_CONF = """\
{user}
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{body}
}}
"""

# The configuration docs/deploy.md shows (there with TLS and real addresses).
OPENLIVE_HTTP = """\
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream openlive {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://openlive;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_buffering off;
            proxy_next_upstream error timeout http_502 http_503;
        }}
    }}"""


class Nginx(OnLoopback):
    def __init__(self, workdir: Path, nodes: list[Node]) -> None:
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server 127.0.0.1:{n.port} max_fails=1 fail_timeout=30s;"
                            for n in nodes)
        conf = workdir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(
            user="user root root;" if os.geteuid() == 0 else "", dir=workdir,
            body=OPENLIVE_HTTP.format(servers=servers, port=self.port)))
        self.log_path = workdir / "nginx.out"
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen([_exe("nginx"), "-p", str(workdir), "-c", str(conf)],
                                         stdout=out, stderr=subprocess.STDOUT)
        _wait_port(self.port, self.proc, "nginx", self.log_path)



@pytest.fixture
def cluster(tmp_path: Path, redis_url: str):
    """``cluster(*args)`` -> (nginx, [node a, node b]): two nodes on one redis behind nginx."""
    started: list = []

    def start(*args: str) -> tuple[Nginx, list[Node]]:
        nodes = [Node(tmp_path, name, "--store", redis_url, *args) for name in ("a", "b")]
        started.extend(nodes)
        proxy = Nginx(tmp_path / "nginx", nodes)
        started.append(proxy)
        return proxy, nodes

    yield start
    for thing in started:
        if isinstance(thing, Node):
            thing.stop()
        else:
            _stop(thing.proc)
