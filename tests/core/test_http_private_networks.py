"""core.http never reaches a private network: every address class is refused (IPv4, IPv6, IPv4-mapped),
plain http:// too, unless the host is in OUTBOUND_ALLOWED_PRIVATE_HOSTS; the address dialled is the one
checked (DNS rebinding finds nothing); redirects are not followed; and each operation has its own budget."""

from __future__ import annotations

import socket
import uuid

import pytest
from django import forms

from core.forms import PublicUrlField
from core.http import Budget, HttpClient, Rejected, url_check
from tests.fakes.loopback import LoopbackServer

PUBLIC_V4, PUBLIC_V6 = "93.184.215.14", "2606:4700:4700::1111"


def client(**options) -> HttpClient:
    options.setdefault("budget", Budget(rate=100.0, burst=100.0))
    options.setdefault("max_attempts", 1)
    return HttpClient(budget_key=f"test:{uuid.uuid4()}", timeout=(1.0, 1.0), **options)


@pytest.fixture
def nothing_allowed(settings):
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = []


@pytest.fixture
def resolver(monkeypatch):
    """The system resolver (not our code) answering chosen names: `resolver["shop.test"] = [answers, ...]`,
    one list of addresses per lookup, the last repeated; IP literals and other names resolve as usual."""
    real, answers = socket.getaddrinfo, {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        queue = answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("[::1]", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.9", "private"), ("192.168.1.1", "private"), ("[fd12:3456::1]", "private"),
    ("169.254.169.254", "link-local"), ("[fe80::1]", "link-local"),
    ("224.0.0.251", "multicast"), ("[ff02::1]", "multicast"),
    ("240.0.0.1", "reserved"), ("0.0.0.0", "unspecified"), ("[::]", "unspecified"),  # noqa: S104 - refused, not bound
    ("[::ffff:127.0.0.1]", "loopback"), ("[::ffff:169.254.169.254]", "link-local"), ("[::ffff:10.0.0.1]", "private"),
    ("100.64.0.1", "not public"),
])
def test_every_private_address_class_is_refused(nothing_allowed, address, reason):
    # Given an https URL whose host is an address of that class
    url = f"https://{address}/latest/meta-data/"

    # When it is checked, and when a client is asked to call it
    with pytest.raises(Rejected) as checked:
        url_check(url)
    with pytest.raises(Rejected) as called:
        client().request("GET", url, operation="probe")

    # Then both refuse, naming the class
    assert f"resolves to a {reason} address" in checked.value.message
    assert f"resolves to a {reason} address" in called.value.message


@pytest.mark.parametrize("address", [PUBLIC_V4, f"[{PUBLIC_V6}]"])
def test_a_public_https_address_passes_the_check(nothing_allowed, address):
    checked = url_check(f"https://{address}/wp-json/")

    assert checked.addresses == (address.strip("[]"),)
    assert (checked.scheme, checked.port) == ("https", 443)


def test_a_name_is_judged_by_every_address_it_resolves_to(nothing_allowed, resolver):
    # Given a name answering one public and one private address
    resolver["mixed.example.test"] = [[PUBLIC_V4, "10.0.0.7"]]

    # When it is checked, then it is refused whole
    with pytest.raises(Rejected, match=r"mixed\.example\.test resolves to a private address \(10\.0\.0\.7\)"):
        url_check("https://mixed.example.test/")


@pytest.mark.parametrize(("url", "message"), [
    (f"http://{PUBLIC_V4}/", "plain http:// is refused; use https://"),
    ("ftp://shop.example.test/", "is not an http(s) URL with a host"),
    ("https:///no-host", "is not an http(s) URL with a host"),
    ("https://user:pw@shop.example.test/", "must not carry a user name or password"),
    ("https://shop.example.test:99999/", "is not a valid URL"),
])
def test_a_url_that_is_no_https_url_is_refused_with_a_clear_message(nothing_allowed, url, message):
    with pytest.raises(Rejected) as refused:
        url_check(url)

    assert message in refused.value.message


def test_a_name_that_does_not_resolve_is_refused_by_the_check(nothing_allowed, resolver):
    resolver["gone.example.test"] = [[]]

    with pytest.raises(Rejected, match=r"gone\.example\.test could not be resolved to an address"):
        url_check("https://gone.example.test/")


def test_a_host_in_the_allowed_list_may_be_private_and_plain_http(settings):
    # Given the loopback fake's host allowed
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    with LoopbackServer() as server:
        # When it is called over plain http
        response = client().request("GET", server.url("/ping"), operation="probe")

        # Then the call goes through
        assert response.status_code == 200
        assert server.paths == ["/ping"]


def test_the_same_fake_is_refused_once_the_list_is_empty(nothing_allowed):
    with LoopbackServer() as server:
        with pytest.raises(Rejected, match="plain http:// is refused"):
            client().request("GET", server.url("/ping"), operation="probe")
        with pytest.raises(Rejected, match="resolves to a loopback address"):
            client().request("GET", server.url("/ping", scheme="https"), operation="probe")

        assert server.connections == 0


def test_a_name_is_checked_when_it_is_dialled_not_only_before(settings):
    # Given 127.0.0.1 allowed by its address, but a name (localhost) that resolves to it is not
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    with LoopbackServer() as server:
        # When the name is called over https (the cheap pre-check passes names through)
        with pytest.raises(Rejected, match=r"localhost resolves to a loopback address \(127\.0\.0\.1\)"):
            client().request("GET", server.url("/ping", host="localhost", scheme="https"), operation="probe")

        # Then not even a connection was opened
        assert server.connections == 0


def test_dns_rebinding_finds_the_connection_checking_its_own_address(nothing_allowed, resolver):
    # Given a name that answers a public address first and the loopback fake's address afterwards
    with LoopbackServer() as server:
        resolver["rebind.example.test"] = [[PUBLIC_V4], ["127.0.0.1"]]
        url = server.url("/hook", host="rebind.example.test", scheme="https")
        assert url_check(url).addresses == (PUBLIC_V4,)  # a form's check passes

        # When the client calls it
        with pytest.raises(Rejected, match=r"rebind\.example\.test resolves to a loopback address"):
            client().request("POST", url, operation="push", json={})

        # Then the socket never reached the private address
        assert server.connections == 0


def test_a_redirect_is_not_followed(settings):
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    with LoopbackServer({"/moved": (302, {"Location": "http://169.254.169.254/latest/meta-data/"})}) as server:
        with pytest.raises(Rejected) as refused:
            client(max_attempts=3).request("GET", server.url("/moved"), operation="probe")

        assert refused.value.status == 302
        assert refused.value.message == "GET /moved: 302 redirect, not followed"
        assert server.paths == ["/moved"]


def test_each_operation_draws_on_its_own_budget_with_a_default_for_the_rest():
    # Given a client whose "push" allows one call a second, every other operation ten
    now, slept = [1_000_000.0], []

    def sleep(seconds):
        slept.append(round(seconds, 3))
        now[0] += seconds

    http = HttpClient(budget_key=f"test:{uuid.uuid4()}", budget=Budget(rate=10.0, burst=2.0),
                      budgets={"push": Budget(rate=1.0, burst=1.0)}, sleep=sleep, clock=lambda: now[0])

    # When two pushes and two order reads start at once
    http.wait_for_budget("push")
    http.wait_for_budget("orders")
    http.wait_for_budget("orders")
    http.wait_for_budget("push")

    # Then only the second push waited, a whole second (its own rate), the reads not at all
    assert slept == [1.0]
    assert http.budget_for("push") == Budget(rate=1.0, burst=1.0)
    assert http.budget_for("orders") == Budget(rate=10.0, burst=2.0)


@pytest.mark.parametrize(("typed", "error"), [
    ("http://shop.example.test", "shop.example.test: plain http:// is refused; use https://"),
    ("https://169.254.169.254/", "169.254.169.254 resolves to a link-local address (169.254.169.254); we do not "
                                 "call private networks"),
    ("https://[::ffff:192.168.0.1]/", "::ffff:192.168.0.1 resolves to a private address (::ffff:192.168.0.1); we do "
                                      "not call private networks"),
])
def test_a_form_refuses_a_private_store_url_in_words(nothing_allowed, typed, error):
    class StoreForm(forms.Form):
        url = PublicUrlField()

    form = StoreForm(data={"url": typed})

    assert not form.is_valid()
    assert form.errors == {"url": [error]}


def test_a_form_takes_a_public_https_store_url(nothing_allowed):
    class StoreForm(forms.Form):
        url = PublicUrlField()

    form = StoreForm(data={"url": f"https://{PUBLIC_V4}/shop/"})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["url"] == f"https://{PUBLIC_V4}/shop/"
