"""One name for making an account: "Sign up", on the signed-out pages and the team invitation (never
"Signup", "Sign Up", "Register" or "Create account" beside it)."""

from __future__ import annotations

import re

import pytest

OTHER_NAMES = re.compile(r"Signup|Sign Up|Sign In\b|[Rr]egister|[Cc]reate (an |your )?account")


def _words(html: str) -> str:
    """The page's text and its <title>, without tags (a URL such as /accounts/signup/ is not a word)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
def test_signed_out_pages_say_sign_up(client, path):
    text = _words(client.get(path).content.decode())

    found = [m.group(0) for m in OTHER_NAMES.finditer(text)]

    assert found == [], found


@pytest.mark.django_db
def test_the_sign_up_page_and_the_sign_in_link_say_sign_up(client):
    signup = _words(client.get("/accounts/signup/").content.decode())
    login = _words(client.get("/accounts/login/").content.decode())

    assert "Sign up · Switchboard" in signup  # the title
    assert signup.count("Sign up") >= 2  # the heading and the button
    assert "sign up" in login
