"""plugins.netguard: which outgoing URLs may be requested."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from plugins.netguard import UnresolvableHost, UnsafeURL, check_url, origin


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/admin",
    "http://localhost/",
    "http://[::1]/",
    "http://10.0.0.8/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://100.64.0.1/",
    # IPv4 hidden in IPv6
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://[64:ff9b::a00:1]/",
    # legacy IPv4 spellings
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://0177.1/",
    "http://127.1/",
    "http://0/",
    "http://3232235777/",  # 192.168.1.1
])
def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL) as info:
        check_url(url, [])
    assert "allowed_hosts" in info.value.reason


@pytest.mark.parametrize("url", [
    "ftp://example.org/", "file:///etc/passwd", "gopher://example.org/", "javascript:alert(1)",
    "example.org/hook", "http:///nohost", "",
])
def test_only_http_and_https_with_a_host(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, ["example.org"])


@pytest.mark.parametrize("url", [
    "https://8.8.8.8/", "http://1.1.1.1:8080/x", "https://[2606:4700:4700::1111]/",
    "http://[::ffff:8.8.8.8]/",
])
def test_public_addresses_pass(url: str) -> None:
    check_url(url, [])


def fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> None:
    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in table[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_names_are_judged_by_every_address_they_resolve_to(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {
        "public.example.org": ["93.184.216.34"],
        "intranet.example.org": ["10.1.2.3"],
        "mixed.example.org": ["93.184.216.34", "192.168.0.10"],
        "sneaky.example.org": ["::ffff:127.0.0.1"],
        "scoped.example.org": ["fe80::1%eth0"],
    })
    check_url("https://public.example.org/hook", [])
    for host in ("intranet", "mixed", "sneaky", "scoped"):
        with pytest.raises(UnsafeURL):
            check_url(f"https://{host}.example.org/hook", [])


def test_unresolvable_host_is_refused_as_retryable_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})
    with pytest.raises(UnresolvableHost) as info:
        check_url("https://nowhere.example.org/", [])
    assert isinstance(info.value, UnsafeURL)


def test_allowed_hosts_match_exact_names_case_insensitively(monkeypatch: pytest.MonkeyPatch) -> None:
    check_url("http://127.0.0.1:9000/hook", ["127.0.0.1"])
    check_url("http://LOCALHOST/hook", ["localhost"])
    check_url("http://localhost./hook", ["LocalHost"])
    check_url("http://[::1]:81/", ["::1"])
    fake_dns(monkeypatch, {"hooks.example.org": ["10.0.0.5"],
                           "evil.hooks.example.org": ["10.0.0.6"]})
    check_url("https://Hooks.Example.org/in", ["hooks.example.org"])
    with pytest.raises(UnsafeURL):
        check_url("https://evil.hooks.example.org/in", ["hooks.example.org"])
    # An allowed name does not allow other spellings of its address.
    with pytest.raises(UnsafeURL):
        check_url("http://2130706433/", ["127.0.0.1"])
    with pytest.raises(UnsafeURL):
        check_url("http://127.0.0.1/", ["localhost"])


def test_userinfo_does_not_fool_the_host_check() -> None:
    with pytest.raises(UnsafeURL):
        check_url("http://example.org@127.0.0.1/", ["example.org"])


def test_reasons_never_show_path_or_query() -> None:
    with pytest.raises(UnsafeURL) as info:
        check_url("http://10.0.0.1/bot/v2/hook/tok-123456?key=secret-key-987", [])
    assert "tok-123456" not in str(info.value)
    assert "secret-key-987" not in str(info.value)
    assert origin("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k") == \
        "https://qyapi.weixin.qq.com"
