"""PDF documents with WeasyPrint: one renderer for every document (appraisals, contracts, scorecard reports).

Documents are HTML templates extending templates/pdf/base.html (A4, page
numbers and a footer on every page), rendered in a chosen language. Chinese
text uses Noto Sans CJK SC (Debian's fonts-noto-cjk, installed by `make run`);
WeasyPrint embeds only the glyphs used, subset by HarfBuzz when
libharfbuzz-subset0 is present (much faster than fontTools for CJK fonts).
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def document_language(request: HttpRequest) -> str:
    """The language asked for with ?lang=en|zh-hans, else the reader's own."""
    asked = (request.GET.get("lang") or "").lower()
    return asked if asked in LANGUAGE_CODES else (getattr(request, "LANGUAGE_CODE", None) or settings.LANGUAGE_CODE)


def document_html(template: str, context: dict, *, language: str) -> str:
    """The document's HTML in `language` (what WeasyPrint lays out)."""
    with translation.override(language):
        return render_to_string(template, {**context, "document_language": language})


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint alone: lay out and write the PDF (the floor the benchmarks compare against)."""
    import weasyprint  # heavy import, only where PDFs are made

    return weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def render_pdf(template: str, context: dict, *, language: str) -> bytes:
    return html_to_pdf(document_html(template, context, language=language))


def svg_data_uri(svg: str) -> str:
    """A chart for a document as an <img> data URI rather than inline <svg>: WeasyPrint lays an image out in
    about half the time, without matching the page's CSS against every SVG node, and the charts' ids and
    styles stay apart (no "anchor defined twice" warnings)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def pdf_response(data: bytes, filename: str, *, inline: bool = False) -> HttpResponse:
    """The PDF as a download; the file name may hold Chinese (RFC 6266 filename*)."""
    response = HttpResponse(data, content_type="application/pdf")
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    response["Content-Length"] = str(len(data))
    return response
