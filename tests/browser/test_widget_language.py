"""Issue 18, the widget's part: every text the visitor sees comes from one table per
language (English, German), chosen by the browser's languages or by the embedding page
(data-lang, mount({lang})), never by the address bar. The page's own <html lang> stays the
customer's; the widget's root says which language it speaks."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.loopback_call import (
    SITE_KEY,
    WIDGET,
    AgentSide,
    embed_page,
    page_wait,
)
from tests.browser.test_widget_protocol import (
    ERROR,
    STATUS,
    W,
    open_widget,
    scripted,
    wait_for,
)

if TYPE_CHECKING:
    from tests.browser.browsers import BrowserPage

WIDGET_JS = Path(__file__).parents[2] / "resources" / "widget" / "widget.js"
ROOT = "[data-softphone-widget]"
# Every piece of text the widget shows: status line, error line, buttons.
SHOWN = """(root) => [".sp-status", ".sp-error", ".sp-call", ".sp-hangup"]
  .map((s) => root.querySelector(s))
  .filter((el) => !el.hidden && el.textContent)
  .map((el) => el.textContent)"""


def texts_block() -> tuple[str, int, int]:
    """The TEXTS object literal of widget.js and where it sits."""
    source = WIDGET_JS.read_text()
    start = source.index("const TEXTS = ") + len("const TEXTS = ")
    end = source.index("\n  };\n", start) + len("\n  }")
    return source[start:end], start, end


async def tables(page: BrowserPage) -> dict[str, dict[str, dict[str, str]]]:
    """TEXTS as the browser parses it (the browser is the JS parser)."""
    literal, _, _ = texts_block()
    value = await page.evaluate(f"() => ({literal})")
    assert isinstance(value, dict)
    return value


def pattern(text: str) -> re.Pattern[str]:
    """A table text with its {placeholders} as wildcards."""
    parts = re.split(r"\{\w+\}", text)
    return re.compile(".*".join(re.escape(p) for p in parts), re.S)


async def assert_speaks(page: BrowserPage, lang: str, root: str = ROOT) -> None:
    """Every text the widget shows is one of ``lang``'s table texts, and the root says so."""
    table = (await tables(page))[lang]
    patterns = [pattern(t) for section in table.values() for t in section.values()]
    shown = await page.evaluate(f"() => ({SHOWN})(document.querySelector({root!r}))")
    assert shown, "the widget shows no text"
    for text in shown:
        assert any(p.fullmatch(text) for p in patterns), f"{text!r} is not a {lang} text"
    assert await page.get_attribute(root, "lang") == lang


def write_page(side: AgentSide, name: str, attrs: dict[str, str], before: str = "") -> str:
    static = side.server.config.static_dirs["/test"]
    (Path(static) / name).write_text(embed_page(attrs, csp=True, before=before))
    return side.url(name)


async def test_the_browser_language_picks_german(
    agent_side: AgentSide, german_page: BrowserPage
) -> None:
    page = german_page
    await page.goto(agent_side.url())  # no data-lang: the browser's languages decide
    await page_wait(page, f"{WIDGET} && {WIDGET}.phase === 'idle'")
    assert str(await page.evaluate("navigator.languages[0]")).startswith("de")
    de = (await tables(page))["de"]
    assert await page.text_content(".sp-status") == de["ui"]["idle"]
    assert await page.text_content(".sp-call") == de["ui"]["call"]
    await assert_speaks(page, "de")
    assert await page.evaluate("document.documentElement.lang") == "en"  # the customer's

    await page.click(".sp-call")
    ring = await asyncio.wait_for(agent_side.rings.get(), 15)
    await page_wait(page, f"{WIDGET}.phase === 'ringing'")
    assert await page.text_content(".sp-status") == de["ui"]["ringing"]
    assert await page.text_content(".sp-hangup") == de["ui"]["hangup"]
    await assert_speaks(page, "de")
    await page.click(".sp-hangup")
    await page_wait(page, f"{WIDGET}.phase === 'ended'")
    assert await page.text_content(".sp-status") == de["ui"]["ended"]
    await assert_speaks(page, "de")
    assert ring.call_id


async def test_an_english_browser_gets_english(agent_side: AgentSide, page: BrowserPage) -> None:
    await page.goto(agent_side.url() + "?lang=de&data-lang=de")  # the address bar: ignored
    await page_wait(page, f"{WIDGET} && {WIDGET}.phase === 'idle'")
    assert await page.text_content(".sp-status") == "Talk to us face to face."
    await assert_speaks(page, "en")


async def test_the_page_chooses_german_for_an_error(
    agent_side: AgentSide, page: BrowserPage
) -> None:
    attrs = {"site-key": SITE_KEY, "lang": "de-AT"}
    url = write_page(agent_side, "denied-de.html", attrs, before="deny_media.js")
    await page.goto(url + "?lang=en")
    await page_wait(page, f"{WIDGET} && {WIDGET}.phase === 'idle'")
    assert await page.text_content(".sp-call") == "Mitarbeiter anrufen"
    await page.click(".sp-call")
    await page_wait(page, "!document.querySelector('.sp-error').hidden")
    de = (await tables(page))["de"]
    assert await page.text_content(".sp-error") == de["errors"]["permission_denied"]
    await assert_speaks(page, "de")


async def test_mount_lang_queue_position_and_refusal_in_german(page: BrowserPage) -> None:
    async with scripted() as fake:
        await open_widget(page, fake, lang="de")
        assert await page.evaluate("document.documentElement.lang") in ("en", "")
        await page.click("#w .sp-call")
        await page_wait(page, f"{W}.phase === 'connecting'")
        await wait_for(lambda: "call_request" in fake.types())  # the socket is up
        await fake.push({"type": "queued", "call_id": "c1", "position": 3, "seq": 1})
        shown = await page_wait(page, f"{STATUS}.includes('3') && {STATUS}")
        assert shown == "Sie sind Nummer 3 in der Warteschlange. Bitte warten Sie\u2026"
        await assert_speaks(page, "de", "#w")
        await fake.push({"type": "error", "code": "too_many_calls", "message": "<b>x</b>"})
        text = str(await page_wait(page, ERROR))
        assert text.startswith("Aus Ihrem Netzwerk oder von dieser Website warten zu viele")
        await page_wait(page, f"{W}.phase === 'idle'")
        await assert_speaks(page, "de", "#w")


async def test_the_tables_have_the_same_keys_and_placeholders(page: BrowserPage) -> None:
    await page.goto("about:blank")
    texts = await tables(page)
    assert set(texts) == {"en", "de"}
    for lang, table in texts.items():
        assert set(table) == set(texts["en"]), lang
        for section, entries in table.items():
            english = texts["en"][section]
            assert set(entries) == set(english), (lang, section, set(entries) ^ set(english))
            for key, text in entries.items():
                assert isinstance(text, str) and text.strip(), (lang, key)
                assert set(re.findall(r"\{\w+\}", text)) == set(
                    re.findall(r"\{\w+\}", english[key])
                ), (lang, key)
    # German is a translation, not a copy (names like "Chrome" may repeat, sentences not).
    copied = [k for k in texts["en"]["ui"] if texts["de"]["ui"][k] == texts["en"]["ui"][k]]
    assert copied == [], copied


# JS string literals and comments, whichever starts first (so "//" inside a string is no
# comment and a quote inside a comment no string).
TOKENS = re.compile(
    r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`", re.S
)
# Where text reaches the visitor: DOM text and the attributes a screen reader speaks.
SINKS = re.compile(
    r"\.(?:textContent|innerText|innerHTML|outerHTML|title|alt|placeholder)\s*\+?=(?!=)"
    r"|setAttribute\(\s*[\"'](?:aria-label|aria-description|title|alt|placeholder)"
    r"|insertAdjacent(?:HTML|Text)|createTextNode|document\.write|\balert\(|\bprompt\("
    r"|\bconfirm\(|\.append\(|\.prepend\("
)


def test_no_visible_text_bypasses_the_tables() -> None:
    """Outside TEXTS, nothing with words flows into a place the visitor sees: a text sink's
    value holds no string literal with letters, and markup has no text between its tags
    nor spoken attributes (aria-label, title, alt, placeholder)."""
    source = WIDGET_JS.read_text()
    _, start, end = texts_block()
    code = source[:start] + "{}" + source[end:]
    # Literals replaced by placeholders that remember whether they hold words.
    literals: list[str] = []

    def stash(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith("/"):
            return " "  # a comment
        literals.append(token)
        return f"__LIT{len(literals) - 1}__"

    stripped = TOKENS.sub(stash, code)
    sinks = list(SINKS.finditer(stripped))
    assert any(".textContent" in m.group(0) for m in sinks)  # the check sees the widget's
    for match in sinks:
        statement = stripped[match.end() : stripped.index(";", match.end())]
        for index in re.findall(r"__LIT(\d+)__", statement):
            literal = literals[int(index)]
            if "innerHTML" in match.group(0):
                between_tags = re.findall(r">([^<]*)<", literal)
                assert not any(re.search(r"[A-Za-z]", t) for t in between_tags), literal
                assert not re.search(r"\b(?:aria-label|title|alt|placeholder)=", literal)
            else:
                assert not re.search(r"[A-Za-z]", literal), (match.group(0), literal)
