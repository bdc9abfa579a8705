"""What every answer about a person says about itself: the figures are advisory, and the uses they are not for.

One wording for the web pages, the exports, the model card and the worker's own view, so that
what the works council agreed to is what every reader sees (AI Act art. 13 and 26; the product
brief's "advisory only"). Defined here, in the ground package, because the card is written by
the weekly run and the pages by the service, and neither may import the other.
"""

from __future__ import annotations

ADVISORY = ("These figures are advisory forecasts to support retention conversations and handover planning: "
            "they decide nothing about a person; people do.")

OUT_OF_SCOPE_USES: tuple[str, ...] = ("contract renewal", "appraisal", "promotion", "dismissal")

OUT_OF_SCOPE = ("They must not be used for " + ", ".join(OUT_OF_SCOPE_USES[:-1])
                + f" or {OUT_OF_SCOPE_USES[-1]}, nor for any other decision about a person.")

NOTICE = f"{ADVISORY} {OUT_OF_SCOPE}"
"""Both sentences, for a place that holds one text (an export's notice, a card's section)."""
