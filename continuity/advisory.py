"""What every answer about a person says about itself: the figures are advisory, and the uses they are not for.

One wording for the web pages, the exports, the model card and the worker's own view, so that
what the works council agreed to is what every reader sees (AI Act art. 13 and 26; the product
brief's "advisory only"). Defined here, in the ground package, because the card is written by
the weekly run and the pages by the service, and neither may import the other. The web page says
the same sentences in Dutch by default: their translation is in its catalogue
(``serving/locale/nl``), keyed by these exact texts, so a change here shows up there as untranslated.
"""

from __future__ import annotations

from continuity.translatable import N_

ADVISORY = N_("These figures are advisory forecasts to support retention conversations and handover planning: "
              "they decide nothing about a person; people do.")

OUT_OF_SCOPE_USES: tuple[str, ...] = ("contract renewal", "appraisal", "promotion", "dismissal")

# One literal sentence, not assembled from the uses, so that the page's catalogue can translate it whole.
OUT_OF_SCOPE = N_("They must not be used for contract renewal, appraisal, promotion or dismissal, nor for any other "
                  "decision about a person.")
assert all(use in OUT_OF_SCOPE for use in OUT_OF_SCOPE_USES), "the sentence names every use out of scope"

NOTICE = f"{ADVISORY} {OUT_OF_SCOPE}"
"""Both sentences, for a place that holds one text (an export's notice, a card's section)."""
