"""configure(c, lab) only sets values; read its result like a hub would."""

import json
import sys
from pathlib import Path

from traitlets.config import Config

from icslab.hub import configure
from icslab.hub.configure import KERNEL_MEMORY


def configured(lab) -> Config:
    c = Config()
    configure(c, lab)
    return c


def test_everything_listens_on_loopback_only(lab):
    c = configured(lab)
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000"  # the trial: public_url itself
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:8124"
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8125"
    assert c.ConfigurableHTTPProxy.command == ["/opt/chp"]


def test_state_and_secrets_live_in_the_data_dir(lab, tmp_path):
    c = configured(lab)
    assert c.JupyterHub.db_url == f"sqlite:///{tmp_path / 'data' / 'jupyterhub.sqlite'}"
    assert c.JupyterHub.cookie_secret_file == str(tmp_path / "data" / "jupyterhub_cookie_secret")
    assert c.RosterAuthenticator.dbm_path == str(tmp_path / "data" / "passwords.dbm")


def test_only_the_roster_logs_in_and_nobody_is_hub_admin(lab):
    c = configured(lab)
    assert c.JupyterHub.authenticator_class == "icslab.hub.auth.RosterAuthenticator"
    assert c.Authenticator.allowed_users == {"trainer1", "p01", "p02", "p03"}
    assert c.Authenticator.admin_users == set()
    assert c.Authenticator.delete_invalid_users is True
    assert c.RosterAuthenticator.max_failed_logins == 5
    assert c.RosterAuthenticator.lockout_seconds == 300


def test_teams_and_roles_become_groups(lab):
    groups = configured(lab).JupyterHub.load_groups
    assert {name: g["users"] for name, g in groups.items()} == {
        "participants": ["p01", "p02", "p03"],
        "instructors": ["trainer1"],
        "water": ["p01", "p02"],
        "power": ["p03"],
    }
    assert all(g["properties"] == {"icslab": "roster"} for g in groups.values())


def test_instructors_get_participants_servers_and_nothing_more(lab):
    roles = {role["name"]: role for role in configured(lab).JupyterHub.load_roles}
    instructor = roles["instructor"]
    assert instructor["groups"] == ["instructors"]
    assert "admin:servers!group=participants" in instructor["scopes"]
    assert "access:servers!group=participants" in instructor["scopes"]
    assert "admin-ui" in instructor["scopes"]
    unfiltered = [s for s in instructor["scopes"] if "!" not in s]
    assert set(unfiltered) == {"admin-ui", "list:groups", "read:groups"}


def test_the_idle_culler_is_a_service_with_narrow_scopes(make_lab):
    c = configured(make_lab(culler={"idle_timeout_minutes": 30}))
    service = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert service["name"] == "idle-culler"
    assert service["command"][:3] == [sys.executable, "-m", "jupyterhub_idle_culler"]
    assert "--timeout=1800" in service["command"]
    roles = {role["name"]: role for role in c.JupyterHub.load_roles}
    assert roles["idle-culler"]["services"] == ["idle-culler"]
    assert set(roles["idle-culler"]["scopes"]) == {
        "list:users",
        "read:users:activity",
        "read:servers",
        "delete:servers",
    }


def test_a_zero_timeout_turns_the_culler_off(make_lab):
    c = configured(make_lab(culler={"idle_timeout_minutes": 0}))
    services = [service["name"] for service in c.JupyterHub.services]
    assert services == ["icslab-cli", "icslab-git", "icslab-live", "icslab-submit", "icslab-room"]
    names = [role["name"] for role in c.JupyterHub.load_roles]
    assert names == ["user", "instructor", "icslab-cli", "room", "team-water", "team-power"]


def test_the_git_service_serves_the_data_dirs_repositories_read_only_to_lab_users(lab):
    c = configured(lab)
    git = next(s for s in c.JupyterHub.services if s["name"] == "icslab-git")
    assert git["url"] == lab.git_url == f"http://127.0.0.1:{lab.git_port}"
    assert git["command"][:3] == [sys.executable, "-m", "icslab.hub.git_service"]
    assert f"--root={lab.data_dir / 'git'}" in git["command"]
    user = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert user["scopes"] == [
        "self",
        "access:services!service=icslab-git",
        "access:services!service=icslab-live",
        "access:services!service=icslab-submit",
        "access:services!service=icslab-room",
    ]
    # A server's own token may fetch, copy, hand in and record self-checks too, but
    # nothing more than JupyterHub's default.
    assert set(c.Spawner.server_token_scopes) == {
        "users:activity!user",
        "access:servers!server",
        "access:services!service=icslab-git",
        "access:services!service=icslab-live",
        "access:services!service=icslab-submit",
        "access:services!service=icslab-room",
    }


def test_the_live_service_reads_the_lab_and_needs_no_consent_page(make_lab):
    c = configured(make_lab())
    live = next(s for s in c.JupyterHub.services if s["name"] == "icslab-live")
    assert live["url"].startswith("http://127.0.0.1:") and live["oauth_no_confirm"] is True
    assert live["command"][:3] == [sys.executable, "-m", "icslab.live.service"]
    assert not any(arg.startswith("--docker-prefix") for arg in live["command"])
    docker = configured(make_lab("docker"))
    live = next(s for s in docker.JupyterHub.services if s["name"] == "icslab-live")
    assert "--docker-prefix=icslab" in live["command"] and "--ip=172.18.0.1" in live["command"]
    assert docker.DockerSpawner.environment["ICSLAB_LIVE_URL"].startswith("http://172.18.0.1:")


def test_the_hand_in_service_reads_the_lab_and_servers_know_where_it_is(make_lab):
    docker = configured(make_lab("docker"))
    lab = make_lab("docker")
    submit = next(s for s in docker.JupyterHub.services if s["name"] == "icslab-submit")
    assert submit["url"] == f"http://172.18.0.1:{lab.submit_port}"
    assert submit["command"][:3] == [sys.executable, "-m", "icslab.hub.handin_service"]
    assert f"--lab-file={lab.paths.lab_file}" in submit["command"]
    assert docker.DockerSpawner.environment["ICSLAB_SUBMIT_URL"] == lab.submit_url
    assert lab.submit_url.endswith("/services/icslab-submit/")


def test_git_in_a_participants_server_sends_its_token_only_to_the_git_service(lab):
    env = configured(lab).Spawner.environment
    assert env["GIT_CONFIG_COUNT"] == "1"
    assert env["GIT_CONFIG_KEY_0"] == f"http.{lab.git_url}/.extraHeader"

    class Spawner:
        api_token = "server-token"

    assert env["GIT_CONFIG_VALUE_0"](Spawner()) == "Authorization: token server-token"


def test_in_docker_mode_the_git_service_listens_on_the_lab_networks_gateway(make_lab):
    lab = make_lab(spawner="docker")
    c = configured(lab)
    git = next(s for s in c.JupyterHub.services if s["name"] == "icslab-git")
    assert git["url"].startswith("http://172.18.0.1:") and "--ip=172.18.0.1" in git["command"]
    assert c.DockerSpawner.environment["GIT_CONFIG_KEY_0"] == f"http.{git['url']}/.extraHeader"


def test_the_cli_service_may_only_start_and_stop_participants_servers(lab):
    c = configured(lab)
    cli = next(s for s in c.JupyterHub.services if s["name"] == "icslab-cli")
    assert cli["api_token"] == "cli-token-for-tests"  # read from DATA_DIR/cli_token
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "icslab-cli")
    assert role["services"] == ["icslab-cli"]
    assert "admin:servers!group=participants" in role["scopes"]
    powerful = ("admin:users", "admin:groups", "tokens")
    assert not any(scope.startswith(powerful) for scope in role["scopes"])


def test_local_servers_get_their_home_data_and_limits(make_lab, tmp_path):
    c = configured(make_lab(limits={"memory": "1G", "cpus": 0.5, "spare_kernels": 0}))
    assert c.JupyterHub.spawner_class == "icslab.hub.spawners.LocalSpawner"
    assert c.Spawner.environment["ICSLAB_SPARE_KERNELS"] == "0"
    assert KERNEL_MEMORY.items() <= c.Spawner.environment.items()  # test_kernel_memory.py
    assert c.LocalSpawner.home_dir_template == str(tmp_path / "data" / "users" / "{username}")
    assert c.Spawner.environment["ICSLAB_DATA"] == str(tmp_path / "datasets")
    assert c.Spawner.default_url == "/lab"
    assert (c.Spawner.mem_limit, c.Spawner.cpu_limit) == ("1G", 0.5)
    assert Path(c.Spawner.cmd[0]).parent == Path(sys.executable).parent


def test_configure_sets_whole_values_and_is_repeatable(lab):
    assert configured(lab) == configured(lab)


def test_docker_mode_isolates_limits_and_keeps_work_in_a_volume(make_lab):
    c = configured(make_lab("docker", limits={"memory": "1G", "cpus": 0.5}))
    spawner = c.DockerSpawner
    assert c.JupyterHub.spawner_class == "icslab.hub.spawners.DockerSpawner"
    assert spawner.image == "icslab-participant:latest"
    assert spawner.pull_policy == "never"
    assert spawner.remove is True
    assert spawner.volumes == {"icslab-user-{username}": "/home/jovyan/work"}
    assert (spawner.network_name, spawner.use_internal_ip) == ("icslab-net", True)
    assert spawner.extra_host_config == {
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "pids_limit": 512,
        "memswap_limit": "1G",
        "log_config": {"type": "json-file", "config": {"max-size": "10m", "max-file": "3"}},
    }
    assert (c.Spawner.mem_limit, c.Spawner.cpu_limit) == ("1G", 0.5)
    assert spawner.environment["ICSLAB_DATA"] == "/opt/icslab/data"
    assert spawner.environment["ICSLAB_SPARE_KERNELS"] == "1"  # the default
    assert KERNEL_MEMORY.items() <= spawner.environment.items()
    # The hub API listens where containers reach it, and only there.
    assert c.JupyterHub.hub_bind_url == "http://172.18.0.1:8124"
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000"
    # Containers outlive a hub restart.
    assert c.JupyterHub.cleanup_servers is False


def test_swarm_mode_runs_services_of_the_registry_image_pinned_to_their_node(make_lab):
    docker_lab = make_lab("docker", cluster={"mode": "swarm"})
    swarm = {
        "swarm_image": "10.0.0.1:5000/icslab-participant:ab12@sha256:00ff",
        "docker_network": None,
        "docker_gateway": "10.0.0.1",
        "swarm_nodes": ["10.0.0.1"],
    }
    c = configured(docker_lab.model_copy(update=swarm))
    assert c.JupyterHub.spawner_class == "icslab.hub.swarm_spawner.SwarmSpawner"
    assert c.SwarmSpawner.image == swarm["swarm_image"]  # by digest, from the lab registry
    assert c.SwarmSpawner.pull_policy == "skip"  # each node pulls it itself
    assert c.SwarmSpawner.cluster_dir == str(docker_lab.paths.cluster)
    assert c.SwarmSpawner.pids_limit == 512
    assert c.SwarmSpawner.node_addresses == ["10.0.0.1"]  # the nodes the lab firewall lets in
    # A team lives on one node: each member's teammates (p03 is alone in power).
    assert json.loads(c.SwarmSpawner.team_members) == {"p01": ["p02"], "p02": ["p01"], "p03": []}
    assert "network_name" not in c.DockerSpawner  # a network of their own, made by the spawner
    # Every node reaches the hub API on the manager's cluster address.
    assert c.JupyterHub.hub_bind_url == "http://10.0.0.1:8124"
    # The disk guard reads volumes of this engine only: not in swarm mode (yet).
    assert "disk" not in {role["name"] for role in c.JupyterHub.load_roles}
    assert "icslab-disk" not in {service["name"] for service in c.JupyterHub.services}


def test_local_mode_stops_servers_with_the_hub(lab):
    assert configured(lab).JupyterHub.cleanup_servers is True


def test_teammates_may_open_each_others_servers_and_nobody_elses(lab):
    roles = {role["name"]: role for role in configured(lab).JupyterHub.load_roles}
    assert roles["team-water"]["groups"] == ["water"]
    assert roles["team-water"]["scopes"] == [
        "access:servers!group=water",
        "read:servers!group=water",
    ]


class FakeSpawner:
    def __init__(self, name, home=""):
        self.user = type("User", (), {"name": name})()
        self.environment = {"ICSLAB_DATA": "/data"}
        self.home_dir = home
        self.volumes = {}


def test_in_docker_mode_a_member_mounts_their_teams_volume_only(make_lab):
    hook = configured(make_lab("docker")).Spawner.pre_spawn_hook
    p01, p03, trainer = FakeSpawner("p01"), FakeSpawner("p03"), FakeSpawner("trainer1")
    for spawner in (p01, p03, trainer):
        hook(spawner)
    assert p01.volumes == {
        "icslab-user-{username}": "/home/jovyan/work",
        "icslab-team-water": "/home/jovyan/work/team",
    }
    assert p03.volumes["icslab-team-power"] == "/home/jovyan/work/team"
    assert "icslab-team-water" not in p03.volumes
    assert trainer.volumes == {"icslab-user-{username}": "/home/jovyan/work"}
    assert p01.environment["ICSLAB_TEAM"] == "water"
    assert p01.environment["ICSLAB_TEAM_MEMBERS"] == "p01,p02"
    assert "ICSLAB_SUBMISSIONS" not in p01.environment  # hand-ins go to the service
    assert p01.environment["ICSLAB_DATA"] == "/data"


def test_in_local_mode_a_member_gets_a_link_to_the_team_folder(lab, tmp_path):
    hook = configured(lab).Spawner.pre_spawn_hook
    p01 = FakeSpawner("p01", str(tmp_path / "users" / "p01"))
    hook(p01)
    link = tmp_path / "users" / "p01" / "team"
    assert link.resolve() == (lab.data_dir / "teams" / "water").resolve()
    assert p01.environment["ICSLAB_TEAM_DIR"] == str(link)


def test_servers_are_told_which_published_workshops_to_pull_at_start(make_lab):
    lab = make_lab(material={"pull_on_start": ["ics-week", "water-week"]})
    env = configured(lab).Spawner.environment
    assert env["ICSLAB_PULL_ON_START"] == (
        f"{lab.git_url}/ics-week.git {lab.git_url}/water-week.git"
    )
    assert configured(make_lab()).Spawner.environment["ICSLAB_PULL_ON_START"] == ""


def test_participants_land_on_the_workshop_the_settings_name_else_on_default_url(make_lab):
    lab = make_lab(
        material={"pull_on_start": ["ics-week"], "landing": "ics-week"},
        hub={"default_url": "/lab/tree/notes"},
    )
    c = configured(lab)
    assert c.Spawner.default_url == "/icslab/landing"  # the server's page finds the notebook
    assert c.Spawner.environment["ICSLAB_LANDING"] == "ics-week"
    assert c.Spawner.environment["ICSLAB_LANDING_ELSE"] == "/lab/tree/notes"
    assert c.Spawner.environment["ICSLAB_GIT_URL"] == lab.git_url

    plain = configured(make_lab(hub={"default_url": "/lab/tree/notes"}))
    assert plain.Spawner.default_url == "/lab/tree/notes"
    assert "ICSLAB_LANDING" not in plain.Spawner.environment


def test_the_server_zygote_preloads_nothing_that_reads_a_participants_environment():
    import subprocess

    code = (
        "import sys; from icslab.hub import zygote; zygote.preload();"
        "print([m for m in zygote.NOT_PRELOADED if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout == "[]\n", done.stderr


def test_in_docker_mode_a_disk_guard_may_stop_participants_servers_only(make_lab):
    docker = configured(make_lab("docker", limits={"disk": "3G"}))
    guard = next(s for s in docker.JupyterHub.services if s["name"] == "icslab-disk")
    assert guard["command"][:3] == [sys.executable, "-m", "icslab.hub.disk_guard"]
    role = next(r for r in docker.JupyterHub.load_roles if r["name"] == "disk-guard")
    assert role["scopes"] == ["admin:servers!group=participants"]
    assert role["services"] == ["icslab-disk"]
    local = configured(make_lab())
    assert "icslab-disk" not in [s["name"] for s in local.JupyterHub.services]


def test_where_the_engine_can_it_caps_each_containers_own_files(make_lab):
    lab = make_lab("docker", limits={"disk": "3G"})
    assert "storage_opt" not in configured(lab).DockerSpawner.extra_host_config
    quota = lab.model_copy(update={"docker_disk_quota": True})
    assert configured(quota).DockerSpawner.extra_host_config["storage_opt"] == {"size": "3G"}
