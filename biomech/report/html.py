"""Building blocks of a self-contained HTML report: page, sections, tables, verdict box, figures.

Every block returns ``Html`` (trusted markup); every other ``str`` passed in is text and is
escaped. Nothing references the network: styles and scripts are inline, images are data URIs
or inline SVG. The page records uncaught script errors in ``<html data-js-errors="...">`` so
that a headless browser can check that the page ran clean.
"""

from __future__ import annotations

import base64
import html
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Card",
    "Html",
    "bullet_list",
    "esc",
    "figure",
    "inline_png",
    "inline_svg",
    "key_value_table",
    "page",
    "section",
    "table",
    "verdict_box",
    "write_atomic",
]


class Html(str):
    """Markup that is already safe; not escaped again."""


def esc(text) -> Html:
    """Escaped text (``Html`` passes through unchanged)."""
    return text if isinstance(text, Html) else Html(html.escape(str(text), quote=True))


CSS = """
:root { --ink:#1c2430; --muted:#5b6675; --line:#d8dee6; --bg:#f5f7fa; --card:#fff;
  --alarm:#b3261e; --alarm-bg:#fdecea; --ok:#1e6b34; --ok-bg:#e6f4ea;
  --neutral:#2c4a6e; --neutral-bg:#eaf0f7; --unknown:#5b6675; --unknown-bg:#eef0f3; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); line-height:1.45;
  font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1120px; margin:0 auto; padding:20px 24px 40px; }
header h1 { font-size:1.6em; margin:0 0 2px; }
header p { margin:0; color:var(--muted); font-size:.9em; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px;
  padding:14px 18px; margin:16px 0; }
h2 { font-size:1.15em; margin:0 0 10px; }
h3 { font-size:1em; margin:12px 0 6px; }
table { border-collapse:collapse; width:100%; font-size:.93em; }
th, td { text-align:left; vertical-align:top; padding:5px 8px; border-bottom:1px solid var(--line); }
th { background:#f0f3f7; font-weight:600; }
td.num { font-variant-numeric:tabular-nums; white-space:nowrap; }
.kv th { width:38%; background:none; font-weight:500; color:var(--muted); }
.verdict { border-left:8px solid var(--unknown); }
.verdict.alarm { border-left-color:var(--alarm); }
.verdict.ok { border-left-color:var(--ok); }
.verdict .headline { font-size:1.35em; font-weight:700; margin:0 0 10px; }
.alarm .headline { color:var(--alarm); } .ok .headline { color:var(--ok); }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(180px,1fr)); gap:10px; }
.card { border-radius:6px; padding:9px 12px; background:var(--unknown-bg); }
.card.alarm { background:var(--alarm-bg); } .card.ok { background:var(--ok-bg); }
.card.neutral { background:var(--neutral-bg); }
.card .t { font-size:.8em; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
.card .v { font-size:1.3em; font-weight:700; font-variant-numeric:tabular-nums; }
.card.alarm .v { color:var(--alarm); } .card.ok .v { color:var(--ok); }
.card .d { font-size:.85em; color:var(--muted); }
figure { margin:8px 0; } figcaption { font-size:.85em; color:var(--muted); }
figure svg, figure img { max-width:100%; height:auto; display:block; }
.figs { display:grid; grid-template-columns:repeat(auto-fit,minmax(320px,1fr)); gap:12px; }
.figs img { max-height:560px; width:auto; margin:0 auto; }
.note { font-size:.88em; color:var(--muted); }
ul.warnings li { color:var(--alarm); }
footer { font-size:.8em; color:var(--muted); text-align:center; }
@media print {
  body { background:#fff; font-size:11pt; } main { max-width:none; padding:0; }
  section { break-inside:avoid; border:none; padding:6px 0; margin:8px 0; }
  .noprint { display:none !important; }
}
"""

# First script of every page: uncaught errors and rejections into <html data-js-errors>.
ERROR_HOOK_JS = """
(function () {
  var errs = [];
  function note(msg) {
    errs.push(String(msg));
    document.documentElement.setAttribute('data-js-errors', errs.join(' | '));
  }
  window.biomechNoteError = note;
  window.addEventListener('error', function (e) {
    note((e && e.message ? e.message : 'error') + ' (line ' + (e && e.lineno || '?') + ')');
  });
  window.addEventListener('unhandledrejection', function (e) {
    note('unhandled rejection: ' + (e && e.reason));
  });
})();
"""


def page(title: str, body: Iterable[Html], subtitle: str | None = None) -> str:
    """A complete HTML5 document: inline CSS, the error hook, a header and the body blocks."""
    sub = f"<p>{esc(subtitle)}</p>" if subtitle else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n"
        f"<script>{ERROR_HOOK_JS}</script>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{esc(title)}</h1>{sub}</header>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def section(title: str, *content: Html, anchor: str | None = None, cls: str = "") -> Html:
    """A titled card; ``anchor`` becomes its id for in-page links."""
    ident = f' id="{esc(anchor)}"' if anchor else ""
    klass = f' class="{esc(cls)}"' if cls else ""
    return Html(
        f"<section{ident}{klass}>\n<h2>{esc(title)}</h2>\n" + "\n".join(content) + "\n</section>"
    )


def _cell(tag: str, content) -> str:
    return f"<{tag}>{esc(content)}</{tag}>"


def table(rows: Iterable[Sequence], header: Sequence | None = None, cls: str = "") -> Html:
    """A table of text (escaped) or ``Html`` cells."""
    head = (
        "<thead><tr>" + "".join(_cell("th", h) for h in header) + "</tr></thead>" if header else ""
    )
    body = "".join("<tr>" + "".join(_cell("td", c) for c in row) + "</tr>" for row in rows)
    klass = f' class="{esc(cls)}"' if cls else ""
    return Html(f"<table{klass}>{head}<tbody>{body}</tbody></table>")


def key_value_table(pairs: Iterable[tuple[object, object]]) -> Html:
    """Two columns, label → value, one row a pair."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs)
    return Html(f'<table class="kv"><tbody>{rows}</tbody></table>')


LEVELS = ("alarm", "ok", "neutral", "unknown")


@dataclass(frozen=True)
class Card:
    """One figure of the verdict box; level is alarm | ok | neutral | unknown (its colour)."""

    title: str
    value: str
    detail: str | Html = ""
    level: str = "neutral"


def _level(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    return level


def verdict_box(headline: str, level: str, cards: Sequence[Card], note: Html | str = "") -> Html:
    """The colour-coded verdict: a headline and a grid of cards."""
    items = "".join(
        f'<div class="card {_level(c.level)}"><div class="t">{esc(c.title)}</div>'
        f'<div class="v">{esc(c.value)}</div><div class="d">{esc(c.detail)}</div></div>'
        for c in cards
    )
    extra = f'<p class="note">{esc(note)}</p>' if note else ""
    return Html(
        f'<section class="verdict {_level(level)}" id="verdict">'
        f'<p class="headline">{esc(headline)}</p><div class="cards">{items}</div>{extra}</section>'
    )


_SVG_PROLOGUE = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<metadata>.*?</metadata>", re.DOTALL)
_SVG_XMLNS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')


def inline_svg(svg: str) -> Html:
    """An SVG document as inline markup: XML prologue, DOCTYPE, metadata and xmlns removed
    (the HTML parser supplies the namespaces), so that no URL is left in the page."""
    return Html(_SVG_XMLNS.sub("", _SVG_PROLOGUE.sub("", svg)).strip())


def inline_png(png: bytes, alt: str) -> Html:
    """A PNG as an <img> with a data URI."""
    data = base64.b64encode(png).decode("ascii")
    return Html(f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">')


def figure(content: Html, caption: str | Html = "") -> Html:
    """A figure with an optional caption."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return Html(f"<figure>{content}{cap}</figure>")


def bullet_list(items: Iterable, empty: str = "none", cls: str = "") -> Html:
    """A bulleted list of text items, or ``empty`` as a paragraph when there are none."""
    items = list(items)
    if not items:
        return Html(f"<p>{esc(empty)}</p>")
    klass = f' class="{esc(cls)}"' if cls else ""
    return Html(f"<ul{klass}>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")


def write_atomic(path: str | Path, text: str) -> Path:
    """Write UTF-8 text through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is for reading
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
