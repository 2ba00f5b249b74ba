"""HTML pieces of the run report: the page, sections, tables, notes and inline images.

Everything is inline (one ``<style>``, images as ``data:image/png;base64``) and every piece of text goes
through ``html.escape``, so the file opens offline, from any folder, with no request at all, whatever a
scenario's names contain.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["esc", "fmt", "image", "kv_table", "note", "page", "section", "table"]

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1d232a;
background:#f5f6f8}
header{background:#1f3b57;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;font-size:13px;opacity:.85}
nav{padding:6px 24px;background:#e4e8ee;font-size:13px}
nav a{margin-right:14px;color:#1f3b57;text-decoration:none}
main{padding:8px 24px 40px;max-width:1280px}
section{background:#fff;border:1px solid #d8dde4;border-radius:6px;margin:16px 0;padding:10px 18px 16px}
h2{font-size:18px;margin:6px 0 10px;color:#1f3b57}
h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;font-size:13px;margin:6px 0 10px}
th,td{border:1px solid #d8dde4;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#7a4b00;background:#fff6e0;border-left:4px solid #f0b429;padding:6px 10px;font-size:13px}
.pass{background:#dff3e3}.acceptable{background:#fff3c4}.fail{background:#f9d6d5}.known_failure{background:#e8e0f5}
img{max-width:100%;height:auto;display:block;margin:6px 0}
"""


def esc(value: Any) -> str:
    """``value`` as escaped text."""
    return html.escape(str(value), quote=True)


def fmt(value: Any, digits: int = 3) -> str:
    """A value as short display text (numbers rounded, None as a dash, lists joined); not yet escaped."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{round(value, digits):g}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v, digits) for v in value) or "–"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt(v, digits)}" for k, v in value.items()) or "–"
    return str(value)


def _cell(value: Any, tag: str = "td") -> str:
    num = isinstance(value, int | float) and not isinstance(value, bool)
    return f"<{tag}{' class=num' if num and tag == 'td' else ''}>{esc(fmt(value))}</{tag}>"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], *,
          row_class: Sequence[str] | None = None) -> str:
    """A table with one header row; ``row_class`` gives each row a CSS class (e.g. the criterion status)."""
    out = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    for i, row in enumerate(rows):
        cls = f" class=\"{esc(row_class[i])}\"" if row_class is not None and row_class[i] else ""
        out.append(f"<tr{cls}>" + "".join(_cell(v) for v in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def kv_table(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of names and values."""
    return "<table>" + "".join(f"<tr><th>{esc(k)}</th>{_cell(v)}</tr>" for k, v in pairs) + "</table>"


def note(text: str) -> str:
    """A highlighted sentence: what a section lacks and why."""
    return f"<p class=note>{esc(text)}</p>"


def image(png: bytes, alt: str) -> str:
    """A PNG inline as a data URI."""
    return f"<img alt=\"{esc(alt)}\" src=\"data:image/png;base64,{base64.b64encode(png).decode('ascii')}\">"


def section(sid: str, title: str, body: str) -> str:
    """One report section with its heading (``id`` for the page's table of contents)."""
    return f"<section id=\"{esc(sid)}\"><h2>{esc(title)}</h2>{body}</section>"


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole document: ``sections`` are ``(id, title, body html)``."""
    nav = "".join(f"<a href=\"#{esc(sid)}\">{esc(t)}</a>" for sid, t, _ in sections)
    body = "".join(section(sid, t, b) for sid, t, b in sections)
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content=\"width=device-width,initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header><nav>{nav}</nav>"
            f"<main>{body}</main></body></html>\n")
