"""The email_address filter: an address that wraps before its dots and its "@" only, shown
escaped, and whole in data-email."""

from django.template import Context, Template


def rendered(value: str) -> str:
    return Template("{% load events_tags %}{{ value|email_address }}").render(
        Context({"value": value})
    )


def test_an_address_may_wrap_before_each_dot_and_its_at_sign_and_nowhere_else():
    assert rendered("jo.ng@university-of-somewhere.example") == (
        '<span class="address" data-email="jo.ng@university-of-somewhere.example">'
        "jo<wbr>.ng<wbr>@university-of-somewhere<wbr>.example</span>"
    )


def test_what_looks_like_markup_in_an_address_is_shown_as_text():
    html = rendered('"<b>x</b>"@example.com')

    assert "<b>" not in html
    assert "&lt;b&gt;" in html
    assert 'data-email="&quot;&lt;b&gt;x&lt;/b&gt;&quot;@example.com"' in html


def test_no_address_renders_an_empty_span():
    assert rendered("") == '<span class="address" data-email=""></span>'
