"""SSRF: webhook URLs never reach metadata, link-local or (in production) internal addresses."""

from __future__ import annotations

import socket

import pytest

from app.integrations.urls import UnsafeUrl, check
from tests.factories import make_patient
from tests.integrations.helpers import run_worker, subscribe, verify

REAL_GETADDRINFO = socket.getaddrinfo


def fake_dns(monkeypatch, answers):
    """Resolve the names in `answers` (name -> callable giving an IP) and everything else for real."""

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            ip = answers[host]()
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("url", ["https://127.0.0.1/h", "https://localhost/h", "https://[::1]/h", "https://10.0.0.5/h",
                                 "https://192.168.1.20/h", "https://172.16.0.1/h", "https://[fc00::1]/h",
                                 "https://100.64.0.1/h", "https://[::ffff:10.0.0.5]/h", "https://0.0.0.0/h",
                                 "http://93.184.215.14/h"])
def test_production_refuses_internal_addresses_and_plain_http(url):
    with pytest.raises(UnsafeUrl):
        check(url, allow_plain_http_loopback=False)


@pytest.mark.parametrize("url", ["https://169.254.169.254/latest", "https://[fd00:ec2::254]/", "https://[fe80::1]/h",
                                 "https://[::ffff:169.254.169.254]/", "https://224.0.0.1/h", "http://10.0.0.5/h"])
def test_development_refuses_metadata_link_local_and_plain_http_beyond_loopback(url):
    with pytest.raises(UnsafeUrl):
        check(url, allow_plain_http_loopback=True)


def test_development_allows_loopback_receivers_including_ipv6():
    assert [str(ip) for ip in check("http://[::1]:8080/hooks", allow_plain_http_loopback=True)] == ["::1"]
    assert check("http://127.0.0.1:8080/hooks", allow_plain_http_loopback=True)
    assert check("https://93.184.215.14/h", allow_plain_http_loopback=False)  # a public address: fine anywhere


def test_a_name_that_resolves_to_the_metadata_address_is_refused(client, staff, monkeypatch):
    fake_dns(monkeypatch, {"hooks.booking.example": lambda: "169.254.169.254"})
    response = client.post("/api/v1/webhooks", json={"url": "https://hooks.booking.example/ims", "event_types": ["*"]},
                           headers=staff("admin").headers)
    assert response.status_code == 422 and "169.254.169.254" in response.json()["errors"][0]["message"]


def test_production_refuses_a_loopback_receiver(app, client, staff):
    app.state.settings = app.state.settings.model_copy(update={"env": "production"})
    response = client.post("/api/v1/webhooks", json={"url": "https://127.0.0.1/h", "event_types": ["*"]},
                           headers=staff("admin").headers)
    assert response.status_code == 422 and "loopback" in response.json()["errors"][0]["message"]


def test_delivery_connects_to_the_address_that_was_checked(client, staff, app, receiver, monkeypatch):
    """DNS rebinding: the name answers a safe address to every check, then something else to the connection.
    The sender must connect to the checked address (and still name the host in the Host header)."""
    lookups = []

    def rebinding() -> str:
        lookups.append(1)
        return "127.0.0.1" if len(lookups) <= 2 else "127.0.0.2"  # 2 checks: subscribe, then before sending

    fake_dns(monkeypatch, {"rebind.test": rebinding})
    port = receiver.server.server_port
    admin = staff("admin")
    subscribe(client, admin, f"http://rebind.test:{port}/hooks", events=["patient.created"], scopes=["patients:read"])
    patient = make_patient(client, admin)
    assert run_worker(app) == 1
    [request] = receiver.received
    assert verify(request)["resource"]["id"] == patient["id"]
    assert {k.lower(): v for k, v in request["headers"].items()}["host"] == f"rebind.test:{port}"
    assert len(lookups) == 2


# IPv6 transition forms reach the IPv4 host they embed: judged by that address (issue 10 item 8).
METADATA_IN_IPV6 = ["https://[64:ff9b::169.254.169.254]/", "https://[64:ff9b::a9fe:a9fe]/",  # NAT64
                    "https://[64:ff9b:1::a9fe:a9fe]/",                                          # local-use NAT64
                    "https://[2002:a9fe:a9fe::1]/", "https://[2002:a9fe:a9fe:1234::5]/",         # 6to4
                    "https://[::ffff:a9fe:a9fe]/", "https://[::169.254.169.254]/",              # mapped, compatible
                    "https://[2001:0:4136:e378:8000:63bf:5601:5601]/",  # Teredo, client 169.254.169.254 obfuscated
                    "https://[2001:0:a9fe:a9fe::1]/",                   # Teredo server 169.254.169.254
                    "https://[2001:db8:1::5efe:a9fe:a9fe]/"]            # ISATAP


@pytest.mark.parametrize("url", METADATA_IN_IPV6)
@pytest.mark.parametrize("development", [False, True])
def test_transition_forms_of_the_metadata_address_are_refused_everywhere(url, development):
    with pytest.raises(UnsafeUrl, match=r"169\.254\.169\.254"):
        check(url, allow_plain_http_loopback=development)


@pytest.mark.parametrize("url", ["https://[64:ff9b::10.0.0.5]/", "https://[2002:c0a8:0101::1]/",
                                 "https://[64:ff9b::127.0.0.1]/", "https://[2002:7f00:1::1]/",
                                 "https://[::10.0.0.5]/", "https://[64:ff9b::100.64.0.1]/"])
def test_production_refuses_transition_forms_of_private_and_loopback_addresses(url):
    with pytest.raises(UnsafeUrl, match="embedded in an IPv6 transition address"):
        check(url, allow_plain_http_loopback=False)


def test_transition_forms_of_public_addresses_are_judged_public():
    # 93.184.215.14 behind NAT64 and 6to4: the IPv4 host is public, so the receiver is allowed in production.
    assert check("https://[64:ff9b::93.184.215.14]/h", allow_plain_http_loopback=False)
    assert check("https://[2002:5db8:d70e::1]/h", allow_plain_http_loopback=False)


def test_development_allows_transition_forms_of_what_it_allows_in_ipv4():
    # Private and loopback IPv4 are allowed in development, so their transition forms are too; plain http
    # only when every judged address is loopback.
    assert check("https://[64:ff9b::10.0.0.5]/h", allow_plain_http_loopback=True)
    assert check("http://[::ffff:127.0.0.1]:8080/h", allow_plain_http_loopback=True)
    with pytest.raises(UnsafeUrl, match="https"):
        check("http://[64:ff9b::10.0.0.5]/h", allow_plain_http_loopback=True)
