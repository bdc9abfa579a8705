"""The web page's languages: Dutch by default, in the sector's own words, English on request.

Source strings are English (templates under ``{% trans %}`` and ``_()``, Python strings marked with
``N_``); the Dutch catalogue is ``serving/locale/nl/LC_MESSAGES/messages.po``, extracted and updated
with Babel (``babel.cfg``, see the README). The API, its field names and its JSON stay English.

The catalogue is compiled from the .po when first asked for, not shipped as a .mo: the .po is the one
source a translator edits and the test reads, a fresh install (``make demo``, a wheel) has no build step
that could forget to compile it, and compiling a few hundred messages takes milliseconds once per process.

A reader chooses with ``?lang=en`` or ``?lang=nl`` on any page; the choice is kept in a cookie, so
that every link and form after it speaks the same language without carrying the parameter.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from fastapi import HTTPException, Request
from starlette.responses import Response

from continuity.translatable import N_

__all__ = ["N_", "PageError", "gettext_for", "locale_of", "remember_choice", "translations"]

LOCALES = ("nl", "en")
DEFAULT_LOCALE = "nl"
SOURCE_LOCALE = "en"  # the language of the msgids: needs no catalogue
LANG_PARAMETER = LANG_COOKIE = "lang"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
COOKIE_DAYS = 365


def catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The locale's messages, compiled from its .po once per process (see the module docstring);
    fuzzy entries are left out, so a guessed translation is never shown as a reviewed one."""
    if locale == SOURCE_LOCALE:
        return NullTranslations()
    with catalogue_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


def _valid(value: str | None) -> str | None:
    return value if value in LOCALES else None


def requested_locale(request: Request) -> str | None:
    """The language asked for by this request's ``?lang=``; None when absent or not one we speak."""
    return _valid(request.query_params.get(LANG_PARAMETER))


def locale_of(request: Request) -> str:
    """The page's language: this request's ``?lang=``, else the reader's earlier choice, else Dutch."""
    return requested_locale(request) or _valid(request.cookies.get(LANG_COOKIE)) or DEFAULT_LOCALE


def remember_choice(request: Request, response: Response) -> None:
    """Keeps a ``?lang=`` choice in a cookie for the pages after it; HttpOnly and SameSite=Lax, as no
    script reads it and a link from elsewhere may carry the reader's language along."""
    chosen = requested_locale(request)
    if chosen is not None and chosen != request.cookies.get(LANG_COOKIE):
        response.set_cookie(LANG_COOKIE, chosen, max_age=COOKIE_DAYS * 24 * 3600, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", path="/")


class PageError(HTTPException):
    """An error of a page route whose detail the route has already worded in the reader's language (with
    ``gettext_for``, where a count or a value is part of the sentence); the error page shows it as it is."""


def gettext_for(request: Request) -> gettext.NullTranslations:
    """The translations of the request's language, for strings a route words in Python."""
    return translations(locale_of(request))
