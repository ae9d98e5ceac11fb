"""The swarm tests' node, without Docker: what its image is, and what it refuses."""

import re

import pytest

from icslab import images
from icslab.testing import swarm_node
from icslab.testing.swarm_node import NODE_PACKAGES, WorkerNode, node_image_tag


def test_the_node_image_is_named_by_its_package_list_apart_from_the_participant_base():
    assert re.fullmatch(r"icslab-node:bookworm-[0-9a-f]{12}", node_image_tag())
    assert {"docker.io", "iptables"} <= set(NODE_PACKAGES)
    # The same recipe under another name: the participant base's tag does not move.
    base = images.base_image_tag(NODE_PACKAGES)
    assert base.startswith("icslab-base:") and base.split(":")[1] == node_image_tag().split(":")[1]


@pytest.mark.parametrize(
    "address", ["../../etc", "registry/../x", "lab server:5000", "", "a:5000:6000"]
)
def test_a_node_trusts_no_registry_address_that_is_not_a_host_and_port(address):
    node = WorkerNode("icslabtunit")  # never entered: the check comes before any command
    with pytest.raises(ValueError, match="not a registry address"):
        node.trust_registry(address, "-----BEGIN CERTIFICATE-----\n")


def test_a_node_trusts_only_a_pem_certificate():
    node = WorkerNode("icslabtunit")
    with pytest.raises(ValueError, match="no PEM certificate"):
        node.trust_registry("172.17.0.1:5000", "not a certificate")


def test_the_node_image_is_built_only_when_missing_and_says_what_it_needs(monkeypatch):
    built = []
    monkeypatch.setattr(swarm_node, "debootstrap_import", lambda *args: built.append(args))
    monkeypatch.setattr(swarm_node, "image_info", lambda tag: {"Id": "sha256:..."})
    assert swarm_node.ensure_node_image() == node_image_tag()
    assert built == []

    monkeypatch.setattr(swarm_node, "image_info", lambda tag: None)
    monkeypatch.setattr(swarm_node.shutil, "which", lambda name: None)
    with pytest.raises(images.ImageBuildError, match="apt-get install -y debootstrap"):
        swarm_node.ensure_node_image()
    assert built == []
