"""Serving a room: hub.public_url and [tls] are checked together, and every
combination that would expose the lab (or cannot work) is refused with the
setting to change."""

import pytest

from icslab.errors import InputError
from icslab.settings import load_settings


def settings_text(tmp_path, hub: str = "", tls: str = ""):
    path = tmp_path / "lab.toml"
    path.write_text(f'[workshop]\ntitle = "x"\n[hub]\n{hub}\n[tls]\n{tls}\n', encoding="utf-8")
    return path


def refused(tmp_path, hub: str = "", tls: str = "") -> list[str]:
    with pytest.raises(InputError) as caught:
        load_settings(settings_text(tmp_path, hub, tls))
    return caught.value.problems


def test_the_trial_on_loopback_needs_no_tls(tmp_path):
    settings = load_settings(settings_text(tmp_path, 'public_url = "http://127.0.0.9:8001"'))
    assert (settings.hub.public_host, settings.hub.public_port) == ("127.0.0.9", 8001)
    assert not settings.tls_on and not settings.user_origins


@pytest.mark.parametrize(
    "url", ["http://lab.example.org", "http://192.168.1.10:8000", "http://0.0.0.0:8000"]
)
def test_clear_text_to_anything_but_loopback_is_refused_naming_tls_mode(tmp_path, url):
    (problem,) = refused(tmp_path, f'public_url = "{url}"', 'mode = "off"')
    assert problem.startswith(f"{tmp_path / 'lab.toml'}:6: tls.mode = 'off'")
    assert "clear text" in problem and "acme, files or lab-ca" in problem


def test_https_with_tls_off_is_refused(tmp_path):
    (problem,) = refused(tmp_path, 'public_url = "https://localhost"')
    assert ":4: is https://" in problem
    assert "tls.mode is 'off'" in problem


def test_a_tls_mode_needs_an_https_address(tmp_path):
    (problem,) = refused(tmp_path, 'public_url = "http://lab.test"', 'mode = "lab-ca"')
    assert ":4: must start with https://" in problem


def test_with_tls_each_participant_gets_their_own_origin_by_default(tmp_path):
    settings = load_settings(
        settings_text(tmp_path, 'public_url = "https://Lab.Test:8443/"', 'mode = "lab-ca"')
    )
    assert settings.hub.public_url == "https://lab.test:8443"
    assert settings.user_origins and settings.tls_on


def test_user_origins_need_a_name_not_an_address(tmp_path):
    (problem,) = refused(tmp_path, 'public_url = "https://192.168.1.10"', 'mode = "lab-ca"')
    assert "hub.user_origins = false" in problem
    settings = load_settings(
        settings_text(
            tmp_path, 'public_url = "https://192.168.1.10"\nuser_origins = false', 'mode = "lab-ca"'
        )
    )
    assert not settings.user_origins


def test_user_origins_need_tls(tmp_path):
    (problem,) = refused(tmp_path, "user_origins = true")
    assert ":4: needs TLS" in problem


def test_acme_needs_a_host_name(tmp_path):
    found = refused(
        tmp_path, 'public_url = "https://192.168.1.10"\nuser_origins = false', 'mode = "acme"'
    )
    assert found == [f"{tmp_path / 'lab.toml'}:7: acme needs a host name in hub.public_url, "
                     "not an address"]  # fmt: skip


def test_files_mode_needs_both_files_and_names_each_missing_one(tmp_path):
    hub = 'public_url = "https://lab.test"'
    assert len(refused(tmp_path, hub, 'mode = "files"')) == 2
    (problem,) = refused(tmp_path, hub, 'mode = "files"\ncert_file = "lab.crt"')
    assert "tls.key_file is required" in problem


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://lab.test/jupyter", "no path"),
        ("ftp://lab.test", "must look like"),
        ("https://user@lab.test", "no path"),
        ("https://lab.test:99999", "not a URL"),
    ],
)
def test_public_url_is_only_scheme_host_and_port(tmp_path, url, why):
    (problem,) = refused(tmp_path, f'public_url = "{url}"', 'mode = "lab-ca"')
    assert f"hub.public_url = {url!r}" in problem and why in problem


def test_the_old_port_setting_says_what_replaced_it(tmp_path):
    (problem,) = refused(tmp_path, "port = 8000")
    assert "hub.port is gone: use hub.public_url" in problem


def test_listen_must_be_an_address(tmp_path):
    (problem,) = refused(tmp_path, 'listen = "eth0"')
    assert "hub.listen = 'eth0'" in problem


def test_the_lab_names_itself_only_with_an_address_to_answer(tmp_path):
    hub = 'public_url = "https://lab.test"'
    (problem,) = refused(tmp_path, hub, 'mode = "lab-ca"\n[dns]\nserve = true')
    assert "dns.address is required" in problem
    settings = load_settings(
        settings_text(tmp_path, hub, 'mode = "lab-ca"\n[dns]\nserve = true\naddress = "10.1.2.3"')
    )
    assert str(settings.dns.address) == "10.1.2.3" and settings.dns.port == 53
