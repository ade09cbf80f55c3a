"""Page basics every screen relies on: the favicon answers, every form field has an accessible name."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.forms import formset_factory


def test_favicon_ico_answers_with_the_svg_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert "max-age=86400" in response["Cache-Control"]


@pytest.mark.django_db
def test_pages_link_the_icon(merchant_a):
    html = merchant_a.web.get("/orders/").content.decode()

    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html


class _Line(forms.Form):
    sku = forms.CharField(label="SKU")
    quantity = forms.IntegerField()
    note = forms.CharField(widget=forms.TextInput(attrs={"aria-label": "Own words"}))
    secret = forms.CharField(widget=forms.HiddenInput)


def test_every_field_is_named_for_screen_readers_even_without_a_label_tag():
    html = str(_Line()["sku"]) + str(_Line()["quantity"]) + str(_Line()["note"]) + str(_Line()["secret"])

    assert re.findall(r'aria-label="([^"]+)"', html) == ["SKU", "Quantity", "Own words"]


def test_formset_rows_say_which_row():
    formset = formset_factory(_Line, extra=2)()

    html = str(formset.forms[1]["sku"])

    assert 'aria-label="SKU, row 2"' in html
