"""Webhook URLs must not reach link-local or cloud-metadata addresses (SSRF)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
             ipaddress.ip_address("100.100.100.200")}


class UnsafeUrl(ValueError):
    pass


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "not a routable address"
    return None


def check(url: str, *, allow_plain_http_loopback: bool, resolve: bool = True) -> None:
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeUrl("must be an absolute https:// URL")
    if parts.username or parts.password:
        raise UnsafeUrl("must not carry credentials; the payload is signed with the subscription secret")
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        addresses = set()
        if resolve:
            try:
                infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
            except OSError as exc:
                raise UnsafeUrl(f"host {host!r} does not resolve") from exc
            addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    for ip in addresses:
        reason = _forbidden(ip)
        if reason:
            raise UnsafeUrl(f"points at {reason} ({ip}), which is refused")
    loopback = host == "localhost" or (addresses and all(ip.is_loopback for ip in addresses))
    if parts.scheme == "http" and not (loopback and allow_plain_http_loopback):
        raise UnsafeUrl("must use https (plain http only for a loopback receiver in development)")
