"""Webhook URLs must not reach internal addresses (SSRF).

Production (`allow_plain_http_loopback=False`): only globally routable addresses, https only.
Development and tests (`True`): private and loopback receivers are allowed too, and plain http only for
a loopback receiver. Link-local, cloud-metadata, multicast and unspecified addresses are refused always.
`check` returns the vetted addresses so the sender can connect to exactly those (no DNS rebinding
between the check and the connection).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
             ipaddress.ip_address("100.100.100.200")}


class UnsafeUrl(ValueError):
    pass


def _plain(ip: IPAddress) -> IPAddress:
    """::ffff:169.254.169.254 is 169.254.169.254."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _forbidden(ip: IPAddress, *, development: bool) -> str | None:
    ip = _plain(ip)
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:  # before is_reserved: ::1 sits in the reserved ::/8
        return None if development else "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified or ip.is_multicast:
        return "not a routable address"
    if development:
        return "not a routable address" if ip.is_reserved else None
    if not ip.is_global:
        return "a private or reserved address"
    return None


def _resolve(host: str, port: int) -> set[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise UnsafeUrl(f"host {host!r} does not resolve") from exc
    return {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}


def check(url: str, *, allow_plain_http_loopback: bool, resolve: bool = True) -> list[IPAddress]:
    """Refuse an unsafe URL; return the addresses it may be sent to (sorted; empty when not resolved)."""
    development = allow_plain_http_loopback
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise UnsafeUrl("has an invalid port") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeUrl("must be an absolute https:// URL")
    if parts.username or parts.password:
        raise UnsafeUrl("must not carry credentials; the payload is signed with the subscription secret")
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        addresses = _resolve(host, port or (443 if parts.scheme == "https" else 80)) if resolve else set()
    for ip in addresses:
        reason = _forbidden(ip, development=development)
        if reason:
            raise UnsafeUrl(f"points at {reason} ({ip}), which is refused")
    named_loopback = host.lower() == "localhost" or host.lower().endswith(".localhost")
    if named_loopback and not development:
        raise UnsafeUrl("points at a loopback address, which is refused")
    loopback = named_loopback or bool(addresses and all(_plain(ip).is_loopback for ip in addresses))
    if parts.scheme == "http" and not (loopback and development):
        raise UnsafeUrl("must use https (plain http only for a loopback receiver in development)")
    return sorted(addresses, key=lambda ip: (ip.version, int(ip)))
