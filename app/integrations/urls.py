"""Webhook URLs must not reach internal addresses (SSRF).

Production (`allow_plain_http_loopback=False`): only globally routable addresses, https only.
Development and tests (`True`): private (RFC 1918, ULA fc00::/7, CGNAT) and loopback receivers are allowed
too, and plain http only for a loopback receiver. Link-local, cloud-metadata, multicast, unspecified and
reserved addresses are refused always.

An IPv6 address that carries an IPv4 address (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96, NAT64
64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16, Teredo 2001::/32 — server and client — and ISATAP
interface ids) reaches that IPv4 host, so it is judged by the embedded IPv4 address(es) under the same
rules: NAT64 or 6to4 of 169.254.169.254 is refused everywhere, of 10.0.0.5 in production.
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


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_LOW32 = 0xFFFFFFFF


def _judged(ip: IPAddress) -> list[IPAddress]:
    """The addresses that decide whether `ip` is safe: the IPv4 host(s) an IPv6 transition form reaches,
    else `ip` itself. ::ffff:169.254.169.254, 64:ff9b::a9fe:a9fe and 2002:a9fe:a9fe:: are all 169.254.169.254."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return [ip]
    low = ipaddress.IPv4Address(int(ip) & _LOW32)
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves
        return [low]
    if any(ip in net for net in _NAT64):
        return [low]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    if (int(ip) >> 32) & 0xFDFFFFFF == 0x00005EFE:  # ISATAP: interface id 0000:5efe or 0200:5efe + IPv4
        return [low]
    return [ip]


def _forbidden(ip: IPAddress, *, development: bool) -> str | None:
    for judged in _judged(ip):
        reason = _verdict(judged, development=development)
        if reason:
            return reason if judged == ip else f"{reason} ({judged}) embedded in an IPv6 transition address"
    return None


def _verdict(ip: IPAddress, *, development: bool) -> str | None:
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
    loopback = named_loopback or bool(addresses and all(j.is_loopback for ip in addresses for j in _judged(ip)))
    if parts.scheme == "http" and not (loopback and development):
        raise UnsafeUrl("must use https (plain http only for a loopback receiver in development)")
    return sorted(addresses, key=lambda ip: (ip.version, int(ip)))
