"""Readiness of services without a health check: a table of small strategies, one place.

A user's own health check always wins (health.py runs it). Otherwise a well-known image,
matched on the image name (the repository's last part, registry and tag ignored) or else
on its command, gets a probe that proves it answers its protocol; any other image is ready
when every TCP port it exposes accepts a connection; one exposing none when it runs.

How a probe runs (the choice): from the host, a protocol handshake to the container's own
address on the project's network (handshakes.py). It needs no client in the image, no
credentials in a process list, and, by going to the network address rather than
127.0.0.1 in the container, it never mistakes the temporary server that the postgres,
mysql and mongo images run during their first initialisation (local socket or loopback
only) for the real one. That works on a local engine; where the stack's delivery says
the engine's network is elsewhere (a synced stack on a remote engine), with
`probe_from = "container"`, or when the address does not answer from here, the probe
runs the image's own client inside the container (docker exec: pg_isready,
redis-cli, mysqladmin, mongosh, rabbitmq-diagnostics, curl, bash's /dev/tcp);
and when the image has no such client, the service is judged by its running state.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from devstack.engine import ContainerState, EngineClient
from devstack.project import Project
from devstack.readiness import handshakes

Handshake = Callable[[socket.socket, Mapping[str, str]], handshakes.Result]
Credentials = Callable[[Mapping[str, str], Sequence[str]], dict[str, str]]
ClientArgv = Callable[[int, Mapping[str, str], str], list[str]]
CONNECT_TIMEOUT = 1.0
MISSING_CLIENT = (126, 127)  # docker exec: the command is not in the image


def _none(env: Mapping[str, str], command: Sequence[str]) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Strategy:
    name: str  # shown to the user: "redis PING"
    images: tuple[str, ...]  # repository names (the last part), exactly
    commands: tuple[str, ...]  # executables that identify the service in its command
    port: int
    handshake: Handshake
    client: ClientArgv | None = None  # argv of the image's own client, run in the container
    client_ok: Callable[[int, str], bool] = lambda code, out: code == 0
    credentials: Credentials = _none
    client_env: Callable[[dict[str, str]], dict[str, str]] = field(default=lambda creds: {})

    def matches_image(self, repo: str) -> bool:
        return repo in self.images


# ---- what each well-known image needs --------------------------------------------------


def _redis_creds(env: Mapping[str, str], command: Sequence[str]) -> dict[str, str]:
    words = [*command, *env.get("REDIS_ARGS", "").split()]
    password = next((words[i + 1] for i, w in enumerate(words[:-1]) if w == "--requirepass"), "")
    password = password or env.get("REDIS_PASSWORD") or env.get("REDISCLI_AUTH", "")
    return {"password": password} if password else {}


def _pg_creds(env: Mapping[str, str], command: Sequence[str]) -> dict[str, str]:
    user = env.get("POSTGRES_USER") or env.get("POSTGRESQL_USERNAME") or "postgres"
    return {"user": user, "database": env.get("POSTGRES_DB") or user}


def _es_ok(code: int, out: str) -> bool:
    return code == 0 and out.strip()[-3:].isdigit() and not out.strip().endswith("000")


def _pg_client(port: int, creds: Mapping[str, str], ip: str) -> list[str]:
    user = creds.get("user", "postgres")
    return ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", user]


def _redis_client(port: int, creds: Mapping[str, str], ip: str) -> list[str]:
    return ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "ping"]


def _mysql_client(port: int, creds: Mapping[str, str], ip: str) -> list[str]:
    pick = "if command -v mysqladmin >/dev/null; then a=mysqladmin; else a=mariadb-admin; fi"
    ping = f'exec "$a" ping --silent --connect-timeout=2 -h 127.0.0.1 --protocol=tcp -P {port}'
    return ["sh", "-c", f"{pick}; {ping}"]


def _mongo_client(port: int, creds: Mapping[str, str], ip: str) -> list[str]:
    pick = "if command -v mongosh >/dev/null; then m=mongosh; else m=mongo; fi"
    eval_ = '--eval "db.adminCommand({ping: 1}).ok"'
    ping = f'exec "$m" --quiet --host {ip or "127.0.0.1"} --port {port} {eval_}'
    return ["sh", "-c", f"{pick}; {ping}"]


def _rabbit_client(port: int, creds: Mapping[str, str], ip: str) -> list[str]:
    return ["rabbitmq-diagnostics", "-q", "ping"]


def _memcached_client(port: int, creds: Mapping[str, str], ip: str) -> list[str]:
    talk = f"exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'version\\r\\n' >&3"
    return ["bash", "-c", f"{talk} && read -r -t 2 line <&3 && [[ $line == VERSION* ]]"]


def _http_client(port: int, creds: Mapping[str, str], ip: str) -> list[str]:
    curl = "curl -s -o /dev/null -w '%{http_code}'"
    return ["sh", "-c", f"{curl} http://127.0.0.1:{port}/ || {curl} -k https://127.0.0.1:{port}/"]


def _redis_env(creds: dict[str, str]) -> dict[str, str]:
    return {"REDISCLI_AUTH": creds["password"]} if creds.get("password") else {}


_POSTGRES_IMAGES = (
    "postgres",
    "postgresql",
    "postgis",
    "pgvector",
    "supabase-postgres",
    "timescaledb",
    "timescaledb-ha",
    "timescaledb-postgis",
)
_REDIS_IMAGES = (
    "redis",
    "redis-stack",
    "redis-stack-server",
    "redismod",
    "rejson",
    "redisearch",
    "redistimeseries",
    "rebloom",
    "valkey",
    "valkey-bundle",
    "keydb",
    "dragonfly",
)

STRATEGIES: tuple[Strategy, ...] = (
    Strategy(
        "postgres startup",
        _POSTGRES_IMAGES,
        ("postgres",),
        5432,
        handshakes.postgres_startup,
        client=_pg_client,
        credentials=_pg_creds,
    ),
    Strategy(
        "redis PING",
        _REDIS_IMAGES,
        ("redis-server", "valkey-server", "keydb-server", "redis-stack-server"),
        6379,
        handshakes.redis_ping,
        client=_redis_client,
        client_ok=lambda code, out: code == 0 and ("PONG" in out or "NOAUTH" in out),
        credentials=_redis_creds,
        client_env=_redis_env,
    ),
    Strategy(
        "mysql greeting",
        ("mysql", "mysql-server", "mariadb", "percona", "percona-server"),
        ("mysqld", "mariadbd"),
        3306,
        handshakes.mysql_greeting,
        client=_mysql_client,
    ),
    Strategy(
        "mongo hello",
        ("mongo", "mongodb", "mongodb-community-server", "mongodb-enterprise-server"),
        ("mongod",),
        27017,
        handshakes.mongo_hello,
        client=_mongo_client,
        client_ok=lambda code, out: code == 0 and out.strip().endswith("1"),
    ),
    Strategy(
        "amqp connection.start",
        ("rabbitmq",),
        ("rabbitmq-server",),
        5672,
        handshakes.amqp_header,
        client=_rabbit_client,
    ),
    Strategy(
        "memcached version",
        ("memcached",),
        ("memcached",),
        11211,
        handshakes.memcached_version,
        client=_memcached_client,
    ),
    Strategy(
        "http GET /",
        ("elasticsearch", "opensearch", "elasticsearch-oss"),
        ("elasticsearch", "opensearch", "opensearch-docker-entrypoint.sh"),
        9200,
        handshakes.http_get,
        client=_http_client,
        client_ok=_es_ok,
    ),
)


# ---- choosing --------------------------------------------------------------------------


def repository(image: str) -> str:
    """The repository's last part: `docker.io/redis/redis-stack-server:7` -> redis-stack-server."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


def strategy_for(image: str, command: Sequence[str] = ()) -> Strategy | None:
    """The well-known strategy for an image (by name, else by command); None for others."""
    repo = repository(image)
    for s in STRATEGIES:
        if s.matches_image(repo):
            return s
    words = {os.path.basename(w) for w in command}
    return next((s for s in STRATEGIES if words & set(s.commands)), None)


@dataclass(frozen=True)
class Plan:
    """How one container is judged ready."""

    label: str  # "healthcheck", "probe: redis PING", "tcp 8000, 9000", "running"
    strategy: Strategy | None
    ports: tuple[int, ...]
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)


def plan(c: ContainerState) -> Plan:
    if c.health_test:
        return Plan("healthcheck", None, ())
    env = dict(c.env)
    s = strategy_for(c.image, c.command)
    if s:
        port = s.port if s.port in c.exposed or not c.exposed else c.exposed[0]
        return Plan(f"probe: {s.name}", s, (port,), s.credentials(env, c.command))
    if c.exposed:
        return Plan("tcp " + ", ".join(map(str, c.exposed)), None, c.exposed)
    return Plan("running", None, ())


def describe(image: str, command: Sequence[str], *, healthcheck: bool | None) -> str:
    """The plan as `devstack config` shows it, from the compose model (no container yet);
    `healthcheck`: the compose file's or the image's (False: none; None: not known)."""
    if healthcheck:
        return "healthcheck"
    s = strategy_for(image, command)
    how = f"probe: {s.name} (port {s.port})" if s else "tcp on its exposed ports, else running"
    return how if healthcheck is False else f"{how}, unless its image has a HEALTHCHECK"


def described(
    project: Project, engine: EngineClient, *, consulted: dict[str, bool | None] | None = None
) -> dict[str, str]:
    """How each service of the project will be judged ready (for `devstack config`);
    `consulted` gets each image whose HEALTHCHECK was read, with what it said."""
    out = {}
    for name, svc in sorted(project.services.items()):
        if name in project.oneshots:
            out[name] = "until it exits 0 (a one-shot: service_completed_successfully)"
            continue
        if not svc.replicas:
            out[name] = "never started (scale 0)"
            continue
        check = svc.healthcheck
        image = svc.image or (f"{project.name}-{name}" if svc.builds else "")
        if check is None and image:  # compose names a built image PROJECT-SERVICE
            check = engine.image_healthcheck(image)
            if consulted is not None:
                consulted[image] = check
        out[name] = describe(svc.image, svc.command, healthcheck=check)
    return out


# ---- probing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ready: bool
    detail: str
    unreachable: bool = False  # the host cannot reach the container's network: use exec
    no_client: bool = False  # the image has no client for the probe: judge by running


def probe_host(c: ContainerState, p: Plan) -> Outcome:
    """A handshake from the host to the container's address (every port for tcp)."""
    address = c.addresses[0] if c.addresses else ""
    if not address:
        return Outcome(False, "no network address", unreachable=True)
    shake = p.strategy.handshake if p.strategy else handshakes.tcp_accept
    seen = ""
    for port in p.ports:
        try:
            with socket.create_connection((address, port), timeout=CONNECT_TIMEOUT) as sock:
                sock.settimeout(CONNECT_TIMEOUT)
                ok, seen = shake(sock, p.credentials)
                if not ok and p.strategy is not None and shake is handshakes.http_get:
                    ok, seen = _tls_retry(address, port, p.credentials)
        except (ConnectionRefusedError, ConnectionResetError):
            return Outcome(False, f"{address}:{port} refused")
        except TimeoutError:
            return Outcome(False, f"{address}:{port} timed out", unreachable=True)
        except OSError as exc:
            far = exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES)
            return Outcome(False, f"{address}:{port} {exc.strerror}", unreachable=far)
        if not ok:
            return Outcome(False, seen)
    return Outcome(True, seen)


def _tls_retry(address: str, port: int, creds: Mapping[str, str]) -> handshakes.Result:
    with socket.create_connection((address, port), timeout=CONNECT_TIMEOUT) as sock:
        sock.settimeout(CONNECT_TIMEOUT)
        return handshakes.http_get(sock, {**creds, "tls": "1"})


def probe_container(
    engine: EngineClient, c: ContainerState, p: Plan, timeout: float = 10
) -> Outcome:
    """The image's own client run in the container (docker exec)."""
    s = p.strategy
    if (s is not None and s.client is None) or not p.ports:
        return Outcome(False, "no client", no_client=True)
    address = c.addresses[0] if c.addresses else ""
    if s is not None and s.client is not None:
        argv = s.client(p.ports[0], p.credentials, address)
    else:  # every exposed port, with bash's /dev/tcp
        argv = ["bash", "-c", " && ".join(f"(exec 3<>/dev/tcp/127.0.0.1/{n})" for n in p.ports)]
    env = s.client_env(dict(p.credentials)) if s else {}
    code, out = engine.exec_in(c.id, argv, env=env, timeout=timeout)
    if code in MISSING_CLIENT and ("not found" in out or "no such file" in out.lower()):
        return Outcome(False, f"{argv[0]} is not in the image", no_client=True)
    ok = s.client_ok(code, out) if s else code == 0
    return Outcome(ok, out.strip().splitlines()[-1][:80] if out.strip() else f"exit {code}")
