"""The impact report as a PDF: the report's own HTML and print stylesheet, laid out on the
server by WeasyPrint (Pango from Debian), so the file is the page a reader prints.

Nothing is fetched while rendering: the stylesheet is read from the static files and every
other URL is refused, so a report can never make the server call out.
"""

import logging
from pathlib import Path
from typing import Any, NoReturn

from django.contrib.staticfiles import finders

STYLESHEET = "dashboard/report.css"


def _refuse(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise ValueError(f"The report fetches nothing: {url}")


def html_to_pdf(html: str) -> bytes:
    """`html` (a whole document) as PDF bytes, styled by the report's stylesheet."""
    # WeasyPrint logs each step of each document at INFO; the console log keeps INFO for
    # the product's own messages.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    # Imported here: importing WeasyPrint parses its own stylesheets, which every management
    # command and worker would otherwise pay for at start-up.
    import weasyprint

    path = finders.find(STYLESHEET)
    assert isinstance(path, str), STYLESHEET
    css = weasyprint.CSS(string=Path(path).read_text(encoding="utf-8"))
    document = weasyprint.HTML(string=html, url_fetcher=_refuse)
    pdf = document.write_pdf(stylesheets=[css])
    assert isinstance(pdf, bytes)
    return pdf
