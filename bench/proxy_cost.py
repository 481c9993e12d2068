#!/usr/bin/env python
"""What a reverse proxy costs: bench/sessions.py straight at an openlive node, then through
Debian's nginx in front of it (the configuration docs/deploy.md shows, without TLS),
alternating ``--rounds`` times; prints each run's turn latency and nginx's CPU time per
frame.

    .venv/bin/python bench/proxy_cost.py
    .venv/bin/python bench/proxy_cost.py --sessions 200 --duration 20 --rounds 3

nginx comes from ``make install-dev`` (apt). The node runs ``openlive serve --engine
emulator --no-voice --metrics off`` (one worker), nginx one worker process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sessions as sb  # noqa: E402  (bench/sessions.py: server start, /proc readers)

NGINX_CONF = """\
{user}
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream openlive {{
        server 127.0.0.1:{node};
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
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_buffering off;
        }}
    }}
}}
"""


def start_nginx(node_port: int, workdir: Path) -> tuple[subprocess.Popen, int]:
    exe = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/bin")
    if exe is None:
        raise SystemExit("nginx is not installed: run `make install-dev`")
    port = sb.free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user="user root root;" if os.geteuid() == 0 else "",
                                      dir=workdir, node=node_port, port=port))
    proc = subprocess.Popen([exe, "-p", str(workdir), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:
        pids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                              text=True).stdout.split()
        if pids:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return proc, port
            except OSError:
                pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"nginx did not start; see {workdir}/error.log")
        time.sleep(0.1)


def nginx_worker_cpu(master: subprocess.Popen) -> float:
    pids = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True,
                          text=True).stdout.split()
    return sum(sb.cpu_seconds(int(p)) or 0.0 for p in pids)


def one_run(url: str, node_pid: int, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).with_name("sessions.py")), "--url", url,
           "--server-pid", str(node_pid), "--sessions", str(args.sessions),
           "--duration", str(args.duration), "--ramp", str(args.ramp), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
    if not lines:
        raise SystemExit(f"bench/sessions.py failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=100)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--ramp", type=float, default=50.0)
    p.add_argument("--rounds", type=int, default=2, help="direct/nginx pairs (2)")
    args = p.parse_args()
    node_args = argparse.Namespace(port=0, compression=False, server_wrapper=None,
                                   server_arg=["--no-voice", "--metrics", "off",
                                               "--max-loop-lag", "0"])
    node, node_url, node_log = sb.start_server(node_args)
    node_port = int(node_url.rsplit(":", 1)[1])
    workdir = Path(tempfile.mkdtemp(prefix="openlive-proxy-bench-"))
    nginx, nginx_port = start_nginx(node_port, workdir)
    try:
        for i in range(args.rounds):
            for name, port in (("direct", node_port), ("nginx", nginx_port)):
                cpu0 = nginx_worker_cpu(nginx)
                r = one_run(f"ws://127.0.0.1:{port}", node.pid, args)
                nginx_cpu = nginx_worker_cpu(nginx) - cpu0
                # nginx's CPU over the whole run (ramp, window, grace) over the client
                # frames of the window alone: an upper bound per frame
                frames = (r["sent_per_s"] + r["recv_per_s"]) * args.duration
                per_frame = (f", nginx {nginx_cpu:.2f} s CPU: <= {nginx_cpu / frames * 1e6:.1f}"
                             " µs a frame" if name == "nginx" and frames else "")
                lat = r["turn_latency_ms"]
                print(f"round {i + 1} {name:6s}: held {r['held']}/{args.sessions}, turn "
                      f"p50 {lat['p50']} ms p99 {lat['p99']} ms, node CPU "
                      f"{r['server_cpu_pct']} %{per_frame}", flush=True)
    finally:
        nginx.terminate()
        nginx.wait(10)
        sb.stop_server(node)
    print(f"load average now: {os.getloadavg()[0]:.2f}; node log {node_log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
