"""deploy/ and the documented settings, checked statically (no Docker engine or systemd here).

Every setting the code reads must be documented in .env.example and the README's configuration
table. "Read" is found in the source, not listed here: any NEWSBOT_/DISCORD_ string literal
passed to a call that also receives the environment (``env.get("X")``, ``_int(env, "X")``,
``os.environ["X"]``...).
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
NAME = re.compile(r"(?:NEWSBOT|DISCORD)_[A-Z0-9_]+")
ENV_NAMES = {"env", "environ", "environment"}


def _mentions_env(node: ast.AST) -> bool:
    return any(
        (isinstance(n, ast.Name) and n.id in ENV_NAMES) or (isinstance(n, ast.Attribute) and n.attr in ENV_NAMES)
        for n in ast.walk(node)
    )


def settings_read_by_the_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                args = [*node.args, *(k.value for k in node.keywords)]
                if not (_mentions_env(node.func) or any(_mentions_env(a) for a in args)):
                    continue
                literals = args
            elif isinstance(node, ast.Subscript) and _mentions_env(node.value):
                literals = [node.slice]
            else:
                continue
            found.update(
                a.value
                for a in literals
                if isinstance(a, ast.Constant) and isinstance(a.value, str) and NAME.fullmatch(a.value)
            )
    return found


def env_example() -> dict[str, str]:
    """Variables in .env.example, set or shown commented out with their default."""
    names: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"#? ?((?:NEWSBOT|DISCORD)_[A-Z0-9_]+)=(.*)", line)
        if match:
            names[match[1]] = match[2]
    return names


def readme_table() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `((?:NEWSBOT|DISCORD)_[A-Z0-9_]+)` \|", text, flags=re.MULTILINE))


def test_the_scan_finds_settings() -> None:
    # The scan itself works: it sees the token and a setting read through a helper.
    assert {"DISCORD_TOKEN", "NEWSBOT_HTTP_PORT", "NEWSBOT_SHARD_IDS"} <= settings_read_by_the_code()


def test_every_setting_is_documented_in_env_example() -> None:
    missing = settings_read_by_the_code() - env_example().keys()
    assert not missing, f".env.example does not document {sorted(missing)}"


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    missing = settings_read_by_the_code() - readme_table()
    assert not missing, f"README's configuration table does not list {sorted(missing)}"


def test_nothing_documented_is_stale() -> None:
    read = settings_read_by_the_code()
    assert env_example().keys() <= read, "documented in .env.example but never read"
    assert readme_table() <= read, "in the README's table but never read"


def test_env_example_only_sets_the_token() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    assigned = [line for line in lines if line and not line.startswith("#")]
    assert assigned == ["DISCORD_TOKEN="], "everything else shows its default, commented out"


# --- Dockerfile ---------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            out.append((instruction.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = dockerfile()
    last_from = max(i for i, (instruction, _) in enumerate(steps) if instruction == "FROM")
    return steps[last_from:]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, rest in final_stage():
        if instruction == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(rest))
    return env


def test_dockerfile_is_multi_stage_and_copies_only_the_build_result() -> None:
    stages = [rest for instruction, rest in dockerfile() if instruction == "FROM"]
    assert len(stages) >= 2
    build = re.search(r"\bAS (\w+)", stages[0], flags=re.IGNORECASE)
    assert build, "the build stage is named"
    copies = [rest for instruction, rest in final_stage() if instruction == "COPY"]
    assert any(rest.startswith(f"--from={build[1]} ") for rest in copies)


def test_dockerfile_runs_as_an_unprivileged_user() -> None:
    users = [rest for instruction, rest in final_stage() if instruction == "USER"]
    assert users, "USER is set"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert any(instruction == "RUN" and "useradd" in rest and user in rest for instruction, rest in final_stage())


def test_dockerfile_keeps_content_and_data_on_volumes_the_settings_point_at() -> None:
    [volume] = [rest for instruction, rest in final_stage() if instruction == "VOLUME"]
    volumes = set(yaml.safe_load(volume))  # the JSON form
    env = image_env()
    assert env["NEWSBOT_CONTENT_DIR"] in volumes
    database = env["NEWSBOT_DATABASE_URL"].removeprefix("sqlite:///")
    assert str(Path(database).parent) in volumes


def test_dockerfile_healthcheck_asks_the_status_server_the_image_enables() -> None:
    [healthcheck] = [rest for instruction, rest in final_stage() if instruction == "HEALTHCHECK"]
    assert "--start-period=" in healthcheck, "a first index may take a while"
    command = healthcheck.split("CMD", 1)[1].strip()
    assert yaml.safe_load(command) == ["python", "-m", "bot.healthcheck"]
    assert (ROOT / "bot" / "healthcheck.py").is_file()
    assert image_env()["NEWSBOT_HTTP_PORT"].isdigit(), "the healthcheck has a server to ask"


def test_dockerfile_copies_only_what_exists() -> None:
    for instruction, rest in dockerfile():
        if instruction == "COPY" and not rest.startswith("--from"):
            for source in shlex.split(rest)[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".env", ".venv", "data", ".git"} <= ignored


# --- docker compose ---------------------------------------------------------------------------


def test_compose_service_has_volumes_healthcheck_and_restart_policy() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"]["newsbot"]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    assert (DEPLOY / service["env_file"]).resolve() == (ROOT / ".env").resolve()
    assert service["restart"] in {"unless-stopped", "always", "on-failure"}
    assert service["healthcheck"]["test"] == ["CMD", "python", "-m", "bot.healthcheck"]
    env = service["environment"]
    mounts = {volume.split(":")[1]: volume for volume in service["volumes"]}
    assert env["NEWSBOT_CONTENT_DIR"] in mounts
    assert mounts[env["NEWSBOT_CONTENT_DIR"]].endswith(":ro"), "the bot never writes its content"
    data_dir = str(Path(env["NEWSBOT_DATABASE_URL"].removeprefix("sqlite:///")).parent)
    data_volume = mounts[data_dir].split(":")[0]
    assert data_volume in compose["volumes"], "the index survives the container"
    assert env["NEWSBOT_HTTP_PORT"] == "8080" and any(port.endswith(":8080") for port in service["ports"])


# --- systemd ----------------------------------------------------------------------------------


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            current.setdefault(key, []).append(value)
    return sections


def test_systemd_unit_restarts_on_failure_with_an_environment_file() -> None:
    service = unit("newsbot.service")["Service"]
    assert service["Restart"] == ["on-failure"]
    assert service["EnvironmentFile"][0].startswith("/")
    assert service["ExecStart"][0].split()[1:] == ["run"]
    assert service["User"][0] not in {"root", "0"}
    assert service["RestartPreventExitStatus"] == ["2"], "a configuration error (exit 2) is not retried"


@pytest.mark.parametrize("name", ["newsbot-healthcheck.service", "newsbot-healthcheck.timer"])
def test_systemd_health_timer_is_complete(name: str) -> None:
    sections = unit(name)
    if name.endswith(".timer"):
        assert "Install" in sections and sections["Timer"]
    else:
        service = sections["Service"]
        assert "bot.healthcheck" in service["ExecStart"][0]
        assert "systemctl restart newsbot.service" in service["ExecStopPost"][0]


def test_every_value_shown_in_env_example_is_accepted() -> None:
    shown = {name: value for name, value in env_example().items() if value}
    assert shown, "the example shows values"
    settings = Settings.from_env(shown)
    assert settings.http_port == int(shown["NEWSBOT_HTTP_PORT"])


def test_postgres_compose_has_a_healthchecked_database_and_two_shard_processes() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.postgres.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    database = services["postgres"]
    assert "healthcheck" in database and any(v.split(":")[0] in compose["volumes"] for v in database["volumes"])
    bots = {name: s for name, s in services.items() if name != "postgres"}
    assert len(bots) == 2
    shards = sorted(s["environment"]["NEWSBOT_SHARD_IDS"] for s in bots.values())
    assert shards == ["0", "1"], "the shards are split between the processes"
    for service in bots.values():
        env = service["environment"]
        assert env["NEWSBOT_DATABASE_URL"].startswith("postgresql://") and env["NEWSBOT_SHARD_COUNT"] == "2"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "healthcheck" in service and service["restart"] == "unless-stopped"
    readers = [s for s in bots.values() if s["environment"]["NEWSBOT_INDEXER"] == "false"]
    assert len(readers) == 1 and "volumes" not in readers[0], "one process runs without the content folder"


def test_the_invite_link_asks_for_exactly_what_the_features_check() -> None:
    """The README's invite link and its table name the permissions digests and alerts check for (the
    one list each keeps), plus Read Message History (reconciling after a crash): no more, no less."""
    import discord

    from bot.alerts.outbox import needed_permissions
    from bot.render.limits import POST_PERMISSIONS

    flags = {*POST_PERMISSIONS, "read_message_history"}
    for kind in ("text", "announcement", "forum"):
        for style in ("embed", "compact", "thread"):
            flags.update(needed_permissions(kind, style))
    value = discord.Permissions(**dict.fromkeys(flags, True)).value
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"scope=bot+applications.commands&permissions={value}`" in readme
    table = {int(v) for v in re.findall(r"^   \| [A-Z][\w ]+ \| (\d+) \|", readme, re.MULTILINE)}
    assert table == {getattr(discord.Permissions, flag).flag for flag in flags}


def test_no_file_holds_a_merge_conflict_marker() -> None:
    """A merge left half-resolved shows its markers to every reader of the README or breaks the code."""
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout: no list of tracked files")
    marked = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in {".py", ".md", ".toml", ".yml", ".yaml", ".sql", ".html", ".css", ".cfg", ""}:
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue
        marked += [f"{name}:{n}" for n, line in enumerate(lines, 1) if line.startswith(("<<<<<<< ", ">>>>>>> "))]
    assert marked == [], marked


def test_every_folder_of_python_code_is_a_package() -> None:
    """The Docker image installs a built wheel, which holds only the packages setuptools finds: a folder
    of modules without ``__init__.py`` works in a checkout and is missing from the image."""
    folders = {path.parent for path in (ROOT / "bot").rglob("*.py")}
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").is_file())
    assert missing == []
