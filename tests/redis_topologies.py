"""Real Redis topologies for the scale-out tests, started from `redis-server` and
`redis-cli` on free ports of 127.0.0.1 and stopped by PID.

- `Cluster`: 3 primaries and 3 replicas (`redis-cli --cluster create`).
- `Replicated`: a primary and `replicas` replicas.
- `Sentinels`: a `Replicated` set watched by 3 Sentinels under the name "mymaster".

No data is kept on disk beyond the nodes' own config files in a temporary folder.
`REDIS_URL_FIXTURES` names the fixture (tests/conftest.py) giving each topology's URL.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from .conftest import stop_process

# The Redis topologies: the fixture giving the URL of each.
REDIS_URL_FIXTURES = {
    "redis": "redis_url",
    "redis-cluster": "redis_cluster_url",
    "redis-sentinel": "redis_sentinel_url",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too."""
    while True:
        port = free_port()
        if port + 10000 < 65536:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port


def wait_for(check: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _in_sync(node: Node) -> bool:
    """A replica is in sync; a primary has all its replicas online."""
    info = node.client.info("replication")
    if info["role"] != "master":
        return bool(info.get("master_link_status") == "up")
    count = int(info["connected_slaves"])
    return count > 0 and all(info[f"slave{i}"]["state"] == "online" for i in range(count))


class Node:
    """One redis-server process."""

    def __init__(self, port: int, directory: Path, *args: str) -> None:
        self.port = port
        directory.mkdir(parents=True, exist_ok=True)
        command = [
            shutil.which("redis-server") or "redis-server",
            *args,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
            "--logfile",
            str(directory / f"redis-{port}.log"),
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.client = redis.Redis(port=port, socket_timeout=2, decode_responses=True)
        wait_for(self.client.ping, f"redis-server on port {port}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.client.close()


class Cluster:
    """3 primaries, 3 replicas."""

    def __init__(self, directory: Path) -> None:
        self.nodes: list[Node] = []
        try:
            for _ in range(6):
                port = free_cluster_port()
                self.nodes.append(
                    Node(
                        port,
                        directory / str(port),
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        f"nodes-{port}.conf",
                        "--cluster-node-timeout",
                        "2000",
                    )
                )
            addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
            subprocess.run(
                [
                    "redis-cli",
                    "--cluster",
                    "create",
                    *addresses,
                    "--cluster-replicas",
                    "1",
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            for node in self.nodes:
                wait_for(
                    lambda n=node: (
                        n.client.execute_command("CLUSTER INFO")["cluster_state"] == "ok"
                    ),
                    "the cluster to be ok",
                )
            for node in self.nodes:
                wait_for(lambda n=node: _in_sync(n), "the cluster's replicas to be in sync")
        except BaseException:
            self.stop()
            raise
        self.url = "redis+cluster://" + ",".join(
            f"127.0.0.1:{node.port}" for node in self.nodes[:2]
        )

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class Replicated:
    """A primary and its replicas."""

    def __init__(self, directory: Path, replicas: int = 1) -> None:
        self.primary = Node(free_port(), directory / "primary")
        self.replicas: list[Node] = []
        try:
            for i in range(replicas):
                self.replicas.append(
                    Node(
                        free_port(),
                        directory / f"replica{i}",
                        "--replicaof",
                        "127.0.0.1",
                        str(self.primary.port),
                    )
                )
            wait_for(self._replicas_online, "the replicas to be in sync")
        except BaseException:
            self.stop()
            raise
        self.url = f"redis://127.0.0.1:{self.primary.port}/0"

    def _replicas_online(self) -> bool:
        info = self.primary.client.info("replication")
        states = [info.get(f"slave{i}", {}).get("state") for i in range(len(self.replicas))]
        return states == ["online"] * len(self.replicas)

    def stop(self) -> None:
        for node in [self.primary, *self.replicas]:
            node.stop()


class Sentinels:
    """A primary, two replicas and three Sentinels naming it "mymaster"."""

    def __init__(self, directory: Path) -> None:
        self.data = Replicated(directory / "data", replicas=2)
        self.sentinels: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []
        try:
            for i in range(3):
                port = free_port()
                conf = directory / f"sentinel-{i}.conf"
                conf.write_text(
                    f"port {port}\nbind 127.0.0.1\n"
                    f"sentinel monitor mymaster 127.0.0.1 {self.data.primary.port} 2\n"
                    "sentinel down-after-milliseconds mymaster 1000\n"
                    "sentinel failover-timeout mymaster 3000\n"
                    "sentinel parallel-syncs mymaster 1\n"
                    f"logfile {directory / f'sentinel-{i}.log'}\n"
                )
                self.sentinels.append(
                    subprocess.Popen(
                        [shutil.which("redis-server") or "redis-server", str(conf), "--sentinel"],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                self.ports.append(port)
            for port in self.ports:
                client = redis.Redis(port=port, decode_responses=True, socket_timeout=2)
                wait_for(
                    lambda c=client: int(c.sentinel_master("mymaster")["num-other-sentinels"]) == 2,
                    "the Sentinels to find each other",
                )
                client.close()
        except BaseException:
            self.stop()
            raise
        self.url = (
            "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in self.ports) + "/mymaster"
        )

    def primary_port(self) -> int:
        client = redis.Redis(port=self.ports[0], decode_responses=True, socket_timeout=2)
        try:
            return int(client.sentinel_get_master_addr_by_name("mymaster")[1])
        finally:
            client.close()

    def stop(self) -> None:
        for process in self.sentinels:
            if process.poll() is None:
                stop_process(process)
        self.data.stop()
