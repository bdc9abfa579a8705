"""The Jinja2 environment of the web page, shared by the page routes and the error pages.

Every page is rendered in the reader's language (``continuity.serving.i18n``): the templates' text goes
through Jinja2's i18n extension, and the figures through the filters below, which write numbers the
way the language does (a decimal comma in Dutch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from continuity.access import Action
from continuity.advisory import ADVISORY, OUT_OF_SCOPE
from continuity.serving.freshness import served_freshness
from continuity.serving.i18n import (LANG_PARAMETER, LOCALES, N_, SOURCE_LOCALE, locale_of, remember_choice,
                                     translations)

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.add_extension("jinja2.ext.i18n")
# Whitespace inside {% trans %} collapses, so the catalogue's entries do not depend on a template's indentation
# (babel.cfg extracts with the same policy).
templates.env.policies["ext.i18n.trimmed"] = True
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    pass_context(lambda context, message: translations(context["locale"]).gettext(message)),
    pass_context(lambda context, singular, plural, n: translations(context["locale"]).ngettext(singular, plural, n)),
    newstyle=True,
)


def number(locale: str, value: float, digits: int = 1) -> str:
    """A figure with a fixed number of decimals as the language writes it: 3.1 in English, 3,1 in Dutch."""
    return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""), locale=locale)


@pass_context
def num(context: Context, value: float | None, digits: int = 1) -> str:
    return "–" if value is None else number(context["locale"], value, digits)


@pass_context
def pct(context: Context, p: float | None) -> str:
    return "–" if p is None else f"{number(context['locale'], 100 * p)}%"


@pass_context
def pp(context: Context, d: float | None) -> str:
    """A change in percentage points, signed; 'new' for a worker not scored the week before."""
    gettext = translations(context["locale"]).gettext
    if d is None:
        return gettext("new")
    sign = "+" if d >= 0 else "-"
    return gettext("%(change)s pp") % {"change": sign + number(context["locale"], abs(100 * d))}


@pass_context
def shown(context: Context, p: float | None, low: float | None = None, high: float | None = None,
          withheld: str | None = None) -> str:
    """A person's probability as the page shows it: '18.0% (12.0–25.0%)' with its 90% interval, or 'withheld'."""
    if withheld:
        return translations(context["locale"]).gettext("withheld")
    if p is None:
        return "–"
    locale = context["locale"]
    interval = "" if low is None or high is None else f" ({number(locale, 100 * low)}–{number(locale, 100 * high)}%)"
    return f"{number(locale, 100 * p)}%{interval}"


@pass_context
def tr(context: Context, message: str) -> str:
    """A string defined in Python (marked ``N_`` there) in the page's language. Unlike ``_()`` it does not
    %-format, so a value from the data that is not in the catalogue, '%' and all, passes through as it is."""
    return translations(context["locale"]).gettext(message)


@pass_context
def sentence(context: Context, value: str) -> str:
    """A sentence that keeps its message and figures apart (``handover.planner.Reason``) in the page's language,
    the figures filled in after translation; any other string as it is."""
    message = getattr(value, "message", None)
    if message is None:
        return str(value)
    translated = translations(context["locale"]).gettext(message)
    return translated % value.values if value.values else translated


@pass_context
def driver_words(context: Context, driver: Any) -> Markup:
    """A driver's sentence (``models.explanation.Sentences``) in the page's language: its message translated and
    its figures filled in, numbers written the way the language does and counting words translated. A message
    the catalogue lacks, or a driver published before drivers carried their message, is shown in English and
    marked so."""
    field = driver.get if isinstance(driver, dict) else lambda name: getattr(driver, name, None)
    message, values, locale = field("message"), field("values"), context["locale"]
    gettext = translations(locale).gettext
    said = None if message is None or values is None else gettext(message)
    if said is not None and (said != message or locale == SOURCE_LOCALE):
        try:
            return Markup("<span>%s</span>") % (said % {name: _figure(locale, gettext, text)
                                                        for name, text in values.items()})
        except (KeyError, TypeError, ValueError):  # figures that do not fit the message: the label as published
            pass
    return Markup('<span lang="en">%s</span>') % field("label")


def _figure(locale: str, gettext, text: str) -> str:
    """A figure of a driver's sentence: a number as the language writes it (as many decimals as in English), any
    other text through the catalogue (units such as "weeks"; data values pass as they are)."""
    whole, _, decimals = text.removeprefix("-").partition(".")
    if whole.isdigit() and (decimals.isdigit() or not decimals):
        return number(locale, float(text), len(decimals))
    return gettext(text)


templates.env.filters.update(num=num, pct=pct, pp=pp, tr=tr, sentence=sentence, driver_words=driver_words)
templates.env.globals["shown"] = shown
# An id as one path segment of a link; Jinja's own urlencode leaves "/" as it is.
templates.env.filters["segment"] = lambda value: quote(str(value), safe="")
# Every page says what its figures are not for (continuity.advisory), translated where it is shown.
templates.env.globals.update(advisory=ADVISORY, out_of_scope=OUT_OF_SCOPE)
# The words of the data's own vocabularies as the page says them (``tr``); a value missing here shows as it is.
templates.env.globals.update(
    directions={"raises": N_("raises risk"), "lowers": N_("lowers risk")},
    action_labels={Action.acknowledged: N_("acknowledged"), Action.disputed: N_("disputed"),
                   Action.data_corrected: N_("data corrected")},
    role_labels={"hr": N_("hr"), "manager": N_("manager"), "admin": N_("administrator"), "worker": N_("the worker"),
                 "sector": N_("sector body")},
    domains={"wmo": N_("Wmo"), "jeugd": N_("youth care"), "participatie": N_("participation")},
    assignment_roles={"primary": N_("case manager"), "secondary": N_("second worker")},
)


def language_links(request: Request, current: str) -> dict[str, str]:
    """This page in each other language: its own address and query, with ``lang`` set."""
    query = [(key, value) for key, value in request.query_params.multi_items() if key != LANG_PARAMETER]
    return {locale: f"{request.url.path}?{urlencode([*query, (LANG_PARAMETER, locale)])}"
            for locale in LOCALES if locale != current}


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page in the reader's language (``locale``), told who reads it (``viewer``: the request's grant,
    None before login) for its navigation; a ``?lang=`` choice is kept for the pages after it."""
    locale = locale_of(request)
    context = {"viewer": getattr(request.state, "grant", None), "locale": locale,
               "languages": language_links(request, locale), **context}
    if context.get("week") is not None:  # a page of the week says how old the week is
        context.setdefault("freshness", served_freshness(request, context["week"]))
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    remember_choice(request, response)
    return response
