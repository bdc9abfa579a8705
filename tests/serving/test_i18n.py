"""The web page speaks Dutch by default and English on request, and no message is left untranslated.

The catalogue test extracts the messages as Babel does (``babel.cfg``), from every template and every
Python source it names, so a page added later is covered as soon as its strings are marked. The page test
renders every page in Dutch and looks for the English source strings in the visible text, outside the
data sentences the page marks as English (``lang="en"``: drivers' words, withheld reasons, drift alerts).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from continuity.access import create_token
from continuity.serving.i18n import catalogue_path
from test_web import CHROMIUM_ARGS, served  # noqa: F401  (the browser test's server)

ROOT = Path(__file__).resolve().parents[2]
SITE = "http://testserver"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def _extracted() -> set[str]:
    """The msgids Babel extracts with the project's own configuration (plural entries by their singular)."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    return {message[2] if isinstance(message[2], str) else message[2][0]
            for message in extract_from_dir(str(ROOT), method_map, options_map)}


@pytest.fixture(scope="module")
def catalogue():
    with catalogue_path("nl").open("rb") as po:
        return read_po(po, locale="nl")


def test_every_message_has_a_dutch_translation_and_the_catalogue_holds_no_stale_one(catalogue):
    extracted = _extracted()
    held = {message.id if isinstance(message.id, str) else message.id[0]: message for message in catalogue if message.id}

    assert len(extracted) > 100  # the extraction found the templates and the Python sources
    assert sorted(extracted - set(held)) == [], "untranslated: run babel.cfg's commands and translate"
    assert sorted(set(held) - extracted) == [], "stale: no template or source uses these any more"
    for msgid, message in held.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings) and not message.fuzzy, msgid
        # Every placeholder of the source is in the translation: a lost one would fail when the page renders.
        assert all(set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(s)) for s in strings), msgid
    assert [error for error in catalogue.check()] == []


class _VisibleText(HTMLParser):
    """The text a reader sees, attribute labels (title, aria-label, placeholder) included, without scripts,
    styles and whatever an element marks as English data (``lang="en"``)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[bool] = []  # per open element: whether its text is hidden from the check

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        hidden = bool(self.stack and self.stack[-1]) or tag in ("script", "style") or attributes.get("lang") == "en"
        if not hidden:
            self.parts += [attributes[a] or "" for a in ("title", "aria-label", "placeholder") if a in attributes]
        if tag not in VOID:
            self.stack.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def _english_fragments(catalogue) -> list[str]:
    """The pieces of each English source string a Dutch page must not show: its text between placeholders and
    markup that its Dutch does not keep (a name, "Team", "continuity token create", proves nothing). A short
    single word ("of", "in") is as likely Dutch, so a piece counts from two words or four letters on."""
    fragments = set()
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        dutch = " ".join(message.string if isinstance(message.string, tuple) else (message.string,))
        for msgid in ids:
            text = re.sub(r"<[^>]+>", "\0", PLACEHOLDER.sub("\0", msgid)).replace("&times;", "×").replace("%%", "%")
            pieces = (piece.strip(" .,:;()·") for piece in text.split("\0"))
            fragments |= {piece for piece in pieces if (" " in piece or len(piece) >= 4)
                          and re.search(r"[A-Za-z]", piece) and piece not in dutch}
    return sorted(fragments)


def _shown(fragment: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(fragment)}(?![\w-])", text) is not None


def _pages(app, settings) -> dict[str, TestClient]:
    """A browser per reader: admin, an hr and a manager of org-a, a worker; none has chosen a language."""
    readers = {"admin": create_token(settings, "admin"), "hr": create_token(settings, "hr", organisation="org-a"),
               "manager": create_token(settings, "manager", teams=["team-a1"]),
               "worker": create_token(settings, "worker", worker="W001")}
    browsers = {}
    for name, token in readers.items():
        browsers[name] = TestClient(app, follow_redirects=False, headers={"Origin": SITE})
        assert browsers[name].post("/ui/login", data={"token": token}).status_code == 303
    return browsers


def _page_paths(app) -> list[str]:
    """Every page without a path parameter (a page added later is among them), and the id-bearing ones."""
    plain = sorted({route.path for route in app.routes if getattr(route, "path", "").startswith("/ui/")
                    and "{" not in route.path and "GET" in getattr(route, "methods", set())} - {"/ui/"})
    return [*plain, "/ui/risk-list?sort=exposure&horizon=13", "/ui/workers/W001", "/ui/workers/W013",
            "/ui/teams/team-a1", "/ui/teams/team-b1", "/ui/teams/team-a1/handover",
            "/ui/teams/team-a1/handover?leaving=W002&leaving=W004", "/models/champion/card"]


def test_every_page_speaks_dutch_by_default_and_shows_no_english_source_string(app, settings, catalogue):
    browsers = _pages(app, settings)
    fragments = _english_fragments(catalogue)
    assert "Risk list" in fragments and "clients at stake" in fragments  # the check has teeth

    checked = 0
    for name, browser in browsers.items():
        for path in ["/ui/login", *_page_paths(app)]:
            page = browser.get(path)
            if page.status_code in (303, 307):
                continue
            assert page.headers["content-type"].startswith("text/html"), (name, path)
            assert '<html lang="nl">' in page.text, (name, path)
            text = visible_text(page.text)
            english = [f for f in fragments if _shown(f, text)]
            assert english == [], (name, path, page.status_code, english)
            checked += 1
    assert checked >= 20
    assert "Risicolijst uitstroom" in visible_text(browsers["hr"].get("/ui/risk-list").text)


def test_lang_en_switches_to_english_and_the_choice_is_kept_across_links(app, settings):
    browser = _pages(app, settings)["manager"]

    english = browser.get("/ui/risk-list", params={"lang": "en", "horizon": 13})
    assert '<html lang="en">' in english.text and "Risk list, week of" in english.text
    assert "lang=en" in english.headers["set-cookie"] and "httponly" in english.headers["set-cookie"].lower()
    # The switch back keeps the page's own query.
    assert 'href="/ui/risk-list?horizon=13&amp;lang=nl" hreflang="nl"' in english.text

    team = browser.get("/ui/teams/team-a1")  # no parameter: the cookie keeps the choice
    assert '<html lang="en">' in team.text and "Clients at stake: who would lose their trusted worker" in team.text
    assert browser.get("/ui/workers/W001").text.count("Probability of leaving within") == 3

    dutch = browser.get("/ui/teams/team-a1", params={"lang": "nl"})
    assert '<html lang="nl">' in dutch.text and "Cliënten die het raakt" in dutch.text
    assert '<html lang="nl">' in browser.get("/ui/risk-list").text


def test_an_unknown_language_falls_back_to_dutch_and_is_not_kept(app, settings):
    browser = _pages(app, settings)["manager"]
    page = browser.get("/ui/risk-list", params={"lang": "fr"})
    assert '<html lang="nl">' in page.text and "set-cookie" not in page.headers


def test_the_api_stays_english_whatever_the_page_language(app, settings):
    client = TestClient(app, headers={"Authorization": f"Bearer {create_token(settings, 'admin')}"},
                        cookies={"lang": "nl"})
    body = client.get("/risk-list", params={"lang": "nl"}).json()
    assert {"week", "horizon", "sort", "total", "items"} <= set(body)
    assert {"worker_id", "p_26w", "expected_exposure_26w", "active_clients"} <= set(body["items"][0])
    refused = TestClient(app).get("/risk-list", params={"lang": "nl"})
    assert refused.status_code == 401 and refused.headers["content-type"].startswith("application/json")


def test_dutch_pages_write_numbers_with_a_decimal_comma(app, settings, published, latest_week):
    record = published("select p_26w, p_26w_low, p_26w_high from risk_scores where score_date = ? and worker_id = 'W001'",
                       latest_week).iloc[0]
    browsers = _pages(app, settings)
    dutch = browsers["manager"].get("/ui/workers/W001").text
    english = browsers["manager"].get("/ui/workers/W001", params={"lang": "en"}).text

    def shown(p, low, high, comma):
        text = f"{100 * p:.1f}% ({100 * low:.1f}–{100 * high:.1f}%)"
        return text.replace(".", ",") if comma else text

    assert shown(record.p_26w, record.p_26w_low, record.p_26w_high, comma=True) in dutch
    assert shown(record.p_26w, record.p_26w_low, record.p_26w_high, comma=False) in english


def test_drivers_are_said_in_the_page_language_with_its_numbers_and_units():
    from continuity.serving.templating import templates

    driver = {"label": "caseload 30% above the norm of 12 per fte (14 clients at 0.9 fte)",
              "message": "caseload %(off)s%% above the norm of %(norm)s per fte (%(clients)s %(unit)s at %(fte)s fte)",
              "values": {"off": "30", "norm": "12", "clients": "14", "unit": "clients", "fte": "0.9"}}
    said = templates.env.from_string("{{ d | driver_words }}")

    assert said.render(locale="nl", d=driver) == \
        "<span>caseload 30% boven de norm van 12 per fte (14 cliënten bij 0,9 fte)</span>"
    assert said.render(locale="en", d=driver) == f"<span>{driver['label']}</span>"
    # a week published before drivers carried their message, or a message the catalogue lacks: English, marked
    assert said.render(locale="nl", d={"label": driver["label"]}) == f'<span lang="en">{driver["label"]}</span>'
    unknown = driver | {"message": "caseload %(off)s%% over it"}
    assert said.render(locale="nl", d=unknown) == f'<span lang="en">{driver["label"]}</span>'
    unfit = driver | {"values": {"off": "30"}}  # figures that do not fill the message
    assert said.render(locale="nl", d=unfit) == f'<span lang="en">{driver["label"]}</span>'
    assert "<script>" not in said.render(locale="nl", d=driver | {"label": "<script>", "message": None})


def test_the_dutch_worker_page_says_every_driver_in_dutch(app, settings, published, latest_week):
    drivers = json.loads(published("select drivers from risk_scores where score_date = ? and worker_id = 'W001'",
                                   latest_week)["drivers"][0])
    page = _pages(app, settings)["hr"].get("/ui/workers/W001").text
    shown = re.findall(r'<ul class="drivers">(.*?)</ul>', page, flags=re.S)[0]

    assert len(re.findall(r"<li><span>", shown)) == len(drivers) == 5  # hr sees the health driver too
    assert 'lang="en"' not in shown
    assert not any(d["label"] in shown for d in drivers)


def test_the_risk_list_renders_in_dutch_in_a_browser(served, tokens):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{served}/ui/login")
            assert page.locator("html").get_attribute("lang") == "nl"
            page.fill("#token", tokens["hr_a"])
            page.click("button[type=submit]")
            page.wait_for_url("**/ui/risk-list")
            assert page.locator("h1").inner_text().startswith("Risicolijst uitstroom, week van")
            headers = page.locator("table.risk thead th").all_inner_texts()
            assert headers[:3] == ["Medewerker", "Team", "Functie"] and "Verwachte blootstelling binnen 26 wk" in headers
            assert page.locator("select[name=sort] option").all_inner_texts() == [
                "kans op uitstroom", "cliënten die het raakt (verwachte blootstelling)"]
            page.select_option("select[name=sort]", "exposure")
            page.click("form.filters button[type=submit]")
            page.wait_for_url("**sort=exposure**")
            exposures = [float(t.replace(",", ".")) for t in page.locator("table.risk td.expected-exposure").all_inner_texts()]
            assert exposures and exposures == sorted(exposures, reverse=True)
            page.click("nav.languages >> text=English")
            page.wait_for_url("**lang=en**")
            assert page.locator("h1").inner_text().startswith("Risk list, week of")
            assert "sort=exposure" in page.url  # the switch keeps the reader's order
        finally:
            browser.close()


def test_a_refused_review_says_why_in_dutch_with_the_count_in_its_plural(app, settings):
    """A message worded in Python (serving/routes/pages.py) reaches the error page in the reader's language."""
    browser = _pages(app, settings)["manager"]
    page = browser.post("/ui/workers/W001/reviews", data={"action": "promoted"})
    alert = page.text.split('<p class="error" role="alert">')[1].split("</p>")[0]

    assert page.status_code == 400 and "<h1>Er ging iets mis</h1>" in page.text
    assert re.fullmatch(r"de beoordeling kon niet worden vastgelegd: .* \((1 probleem|[2-9] problemen)\)", alert)
