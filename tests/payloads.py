"""Injection payloads for the escaping tests (issue 7).

Every payload that could run script sets ``window.__pwned`` to its own number, so a test
only has to check that the sentinel stays undefined (and, if it does not, the number names
the culprit). The Jinja payloads would print 42, the renderer's process id or the Flask-style
config, or create :data:`MARKER`, if any of them were ever evaluated as a template.

No payload starts or ends with whitespace: table headers and join keys are trimmed by design,
and a payload should survive every slot literally.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

#: Created only if a Jinja payload is evaluated (unique per test run).
MARKER = Path(tempfile.gettempdir()) / f"geomap-pwned-{os.getpid()}-{uuid.uuid4().hex[:10]}"

#: About 100 KB of text, with characters that need escaping spread through it.
LONG = "长串<>&'\"\\" + ("西屏街道ABCDEFGH<b>&amp;</b>'\"\\" * 3500) + "尾"

PAYLOADS: list[str] = [
    # 0-7: HTML that runs script if inserted as markup
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    "<svg onload=window.__pwned=3>",
    '<a href="javascript:window.__pwned=4">链接</a>',
    "javascript:window.__pwned=5",
    "</script><script>window.__pwned=6</script>",
    "<!--<script>window.__pwned=7</script>-->",
    "]]><script>window.__pwned=8</script><![CDATA[",
    # 8-15: Jinja expressions and statements (folium/branca compile scripts as templates)
    "{{ 6*7 }}",
    "{{ lipsum.__globals__.os.getpid() }}",
    "{% endraw %}",
    "{% raw %}",
    "{{ config }}",
    f"{{{{ lipsum.__globals__.os.system('touch {MARKER}') }}}}",
    "{% for i in range(3) %}环{% endfor %}{# 注释 #}",
    "{{ '<script>window.__pwned=16</script>'|safe }}",
    # 16-20: control and layout characters
    'U+2028\u2028行分隔\u2029段分隔";window.__pwned=17;//',
    "NUL\x00字节<img src=x onerror=window.__pwned=18>",
    "\u202eRTL 覆盖\u202c 与 \u200b零宽\u200d 与 \ufeff",
    "CR\r\nLF\n仅CR\r制表\t结束",
    LONG,
    # 21-25: quotes, backslashes, emoji
    "'单引号' \"双引号\" `反引号` “弯引号” ‘弯’ 「」 《》 ″ ′ ＂ ＇",
    'C:\\Windows\\System32 \\u003c \\x3c \\\\ \\n \\";window.__pwned=22;//',
    "🗺️ 👨‍👩‍👧 🏳️‍🌈 💩 𠀀𪚥",
    '" onmouseover="window.__pwned=24" x="',
    "' autofocus onfocus='window.__pwned=25' x='",
    # 26-33: other markup and script contexts
    '<iframe srcdoc="<script>parent.__pwned=27</script>"></iframe>',
    "&lt;img src=x onerror=window.__pwned=28&gt; &amp;lt; &#60;",
    "${window.__pwned=29} `${window.__pwned=29}`",
    "<details open ontoggle=window.__pwned=30>",
    "<style>*{display:none!important}</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=32>",
    '<base href="javascript:window.__pwned=33//">',
    "%s %d {0} {} %(x)s \\N{BULLET}",
    # 34-35: names JavaScript objects treat specially
    "__proto__",
    "constructor",
]

#: The placeholders geomap's renderer splices into the page after folium: a value equal to
#: one of them must still be plain data.
PLACEHOLDERS: list[str] = [
    "__GEOMAP_HEAD__",
    "__GEOMAP_DATA__0",
    "__GEOMAP_DATA__1",
    "__GEOMAP_SCRIPT__",
]

assert len(PAYLOADS) == len(set(PAYLOADS)) >= 20
assert all(p == p.strip() and p for p in PAYLOADS)


def html_parsed(text: str) -> str:
    """``text`` as an HTML parser keeps it in element content: CR and CRLF become LF and
    NUL is dropped (HTML "preprocessing" and the "in body" insertion mode)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
