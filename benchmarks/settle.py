"""Redraw time by what is on screen: from an action until the page's pixels have changed and
stopped changing. One rule for every page (geomap's canvas, explore()'s SVG).

How: Chromium's DevTools screencast (``Page.startScreencast``) sends a frame each time the
compositor presents new content, stamped with the presentation time. The action runs in the
page after noting ``Date.now()``; frames then arrive as the content changes. Once no frame
has come for ``quiet_s`` seconds, the redraw time is the presentation time of the last frame
whose pixels differ from the frame before it (frames are compared by their encoded bytes:
the same pixels encode to the same bytes), minus the start. The wait for quiet begins
once a changed frame has come (explore's SVG page can take seconds to present its first);
an action that changes nothing on screen waits until the timeout and gives ``None``.

The old definition, ``FRAMES_JS`` (what the README's figures measured until November 2026):
``performance.now()`` from the action until two ``requestAnimationFrame`` callbacks later.
It counts the script that runs the redraw, but not raster work that finishes after the
second frame callback, nor anything drawn in later frames.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

# Old definition: the action (JavaScript statements, `arg` in scope), then two animation
# frames.
FRAMES_JS = """async (arg) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  await frame();
  const t0 = performance.now();
  %s;
  await frame();
  return performance.now() - t0;
}"""

# New definition's start: wall-clock ms (the screencast's clock) just before the action.
START_JS = """(arg) => {
  const t0 = Date.now();
  %s;
  return t0;
}"""


class Screen:
    """A screencast of one page; :meth:`settle` times an action by its frames."""

    def __init__(self, context: Any, page: Any) -> None:
        self.page = page
        self.cdp = context.new_cdp_session(page)
        self.frames: list[tuple[float, str, float]] = []  # (presented s, digest, arrived s)
        self.current = ""
        self.cdp.on("Page.screencastFrame", self._frame)
        self.cdp.send("Page.startScreencast", {"format": "jpeg", "quality": 80, "everyNthFrame": 1})
        page.wait_for_timeout(300)
        self._drain()

    def _frame(self, event: dict[str, Any]) -> None:
        digest = hashlib.sha1(event["data"].encode("ascii")).hexdigest()
        self.frames.append((float(event["metadata"]["timestamp"]), digest, time.time()))
        self.cdp.send("Page.screencastFrameAck", {"sessionId": event["sessionId"]})

    def _drain(self) -> None:
        if self.frames:
            self.current = self.frames[-1][1]
        self.frames.clear()

    def settle(
        self, body: str, arg: Any = None, quiet_s: float = 1.0, timeout_s: float = 120.0
    ) -> dict[str, Any]:
        """Run ``body`` (JavaScript statements, ``arg`` in scope) in the page; the ms until
        its pixels changed and stopped changing, and the frames seen."""
        self.page.wait_for_timeout(int(quiet_s * 1000))
        self._drain()
        before = self.current
        t0 = float(self.page.evaluate(START_JS % body, arg)) / 1000
        returned = time.time()  # the action's own script is done (it may have taken seconds)
        deadline = returned + timeout_s
        while time.time() < deadline:
            self.page.wait_for_timeout(50)
            # Wait for a changed frame first (an SVG page may take seconds to rasterise its
            # first frame), then for quiet.
            if not any(d != before for _, d, _ in self.frames):
                continue
            if time.time() - max(self.frames[-1][2], returned) >= quiet_s:
                break
        changes, previous = [], before
        for presented, digest, _ in self.frames:
            if digest != previous:
                changes.append(presented)
            previous = digest
        frames = len(self.frames)
        self._drain()
        if not changes or self.current == before:
            return {"ms": None, "frames": frames, "changes": len(changes)}
        return {
            "ms": round((changes[-1] - t0) * 1000, 1),
            "first_change_ms": round((changes[0] - t0) * 1000, 1),
            "frames": frames,
            "changes": len(changes),
        }

    def close(self) -> None:
        self.cdp.send("Page.stopScreencast")


def frames_ms(page: Any, body: str, arg: Any = None) -> float:
    """The old definition: ms from the action until two animation frames later."""
    return round(float(page.evaluate(FRAMES_JS % body, arg)), 1)
