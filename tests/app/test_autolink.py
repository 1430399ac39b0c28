"""Which typed words are web addresses (editor_app.core.autolink), as Google Docs' link
detection takes them: the punctuation of the sentence stays outside, brackets the
address opened stay in."""

from __future__ import annotations

import pytest

from editor_app.core.autolink import TypedAddress, address_at_end, addresses_in, openable

WIKI = "https://en.wikipedia.org/wiki/Foo_(bar)"


@pytest.mark.parametrize(
    ("text", "address", "after", "href"),
    [
        ("see https://example.org/page.", "https://example.org/page", 1, None),
        ("www.kernel.org", "www.kernel.org", 0, "https://www.kernel.org"),
        (f"({WIKI})", WIKI, 1, None),
        ("go to http://localhost:8080/x?y=1,", "http://localhost:8080/x?y=1", 1, None),
        ("검색은 https://naver.com/검색어!", "https://naver.com/검색어", 1, None),
        ('"WWW.Example.COM"', "WWW.Example.COM", 1, "https://WWW.Example.COM"),
    ],
)
def test_an_address_at_the_end(text: str, address: str, after: int, href: str | None) -> None:
    assert address_at_end(text) == TypedAddress(address, href or address, after)


@pytest.mark.parametrize(
    "text",
    ["", "plain words", "xhttps://a.b", "https://", "https://.", "www.x", "www.", "a@www.b.com",
     "ftp://files.org", "https://example.org/ then more"],
)  # fmt: skip
def test_no_address(text: str) -> None:
    assert address_at_end(text) is None


@pytest.mark.parametrize(
    "href",
    [
        "https://example.org/a?b#c",
        "http://localhost:8080/",
        "mailto:ana@example.org",
        " HTTPS://X.org ",
    ],
)
def test_web_and_mail_addresses_may_be_opened(href: str) -> None:
    assert openable(href)


@pytest.mark.parametrize(
    "href",
    ["javascript:alert(1)", "file:///etc/passwd", "smb://host/share", "vscode://x", "https:///path",
     "data:text/html,<b>x</b>", "", "no scheme", "http://[::1"],
)  # fmt: skip
def test_other_links_are_never_opened(href: str) -> None:
    assert not openable(href)


def test_every_address_in_pasted_text() -> None:
    text = "문서 https://a.example/x, (www.b.example)\u2029mail a@b.example ftp://c.example"
    found = [(text[a:b], href) for a, b, href in addresses_in(text)]
    assert found == [
        ("https://a.example/x", "https://a.example/x"),
        ("www.b.example", "https://www.b.example"),
    ]
