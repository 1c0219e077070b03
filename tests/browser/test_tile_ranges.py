"""The client's range coalescing (geomap/assets/js/ranges.js, issue 18): the byte ranges
asked of a tile archive in one turn of the event loop are read in a few joined requests,
and every caller gets exactly its own bytes. Run in Chromium against a fake source whose
byte k is (k mod 251), so any wrong slice shows."""

from __future__ import annotations

from typing import Any

import pytest

from geomap import assets

pytestmark = pytest.mark.browser

FAKE = """
window.geomap = { lib: {} };
// A pmtiles Source: byte k of the file is k % 251; every request is recorded.
window.fake = {
  calls: [],
  fail: null,
  getKey: function () { return "fake"; },
  getBytes: function (offset, length, signal, etag) {
    var call = { offset: offset, length: length, etag: etag, aborted: false };
    fake.calls.push(call);
    if (signal) signal.addEventListener("abort", function () { call.aborted = true; });
    return new Promise(function (resolve, reject) {
      setTimeout(function () {
        if (fake.fail) { reject(new Error(fake.fail)); return; }
        var data = new Uint8Array(length);
        for (var k = 0; k < length; k++) data[k] = (offset + k) % 251;
        resolve({ data: data.buffer, etag: etag, cacheControl: "no-cache" });
      }, 20);
    });
  }
};
// Ask ranges [offset, length, etag?] in one turn; answer what each caller got.
window.ask = function (ranges, options) {
  var src = new geomap.lib.ranges.Coalescing(fake, options);
  return Promise.all(ranges.map(function (r) {
    return src.getBytes(r[0], r[1], undefined, r[2]).then(function (got) {
      var bytes = new Uint8Array(got.data), ok = bytes.length === r[1];
      for (var k = 0; ok && k < bytes.length; k++) ok = bytes[k] === (r[0] + k) % 251;
      return { ok: ok, etag: got.etag === undefined ? null : got.etag };
    });
  })).then(function (answers) {
    return { answers: answers, calls: fake.calls.map(function (c) { return [c.offset, c.length]; }),
             requests: src.requests, asked: src.asked };
  });
};
"""


@pytest.fixture
def page(browser: Any) -> Any:
    page = browser.new_page()
    page.set_content("<html><body></body></html>")
    page.add_script_tag(content=FAKE)
    page.add_script_tag(content=assets.read("js/ranges.js"))
    yield page
    page.close()


def test_nearby_ranges_are_read_in_one_request_and_sliced(page: Any) -> None:
    # Out of order, touching, overlapping, a gap of 100 bytes and one far away.
    ranges = [[5000, 300], [0, 100], [100, 50], [120, 60], [280, 20], [900_000, 10]]
    got = page.evaluate("r => ask(r, {gap: 128})", ranges)
    assert all(a["ok"] for a in got["answers"])
    assert got["calls"] == [[0, 300], [5000, 300], [900_000, 10]]
    assert got["requests"] == 3 and got["asked"] == 6


def test_no_gap_joins_only_touching_ranges(page: Any) -> None:
    got = page.evaluate("r => ask(r, {gap: 0})", [[0, 10], [10, 10], [21, 5]])
    assert all(a["ok"] for a in got["answers"])
    assert got["calls"] == [[0, 20], [21, 5]]


def test_a_joined_request_never_exceeds_the_maximum(page: Any) -> None:
    ranges = [[k * 1000, 1000] for k in range(10)]
    got = page.evaluate("r => ask(r, {max: 3000})", ranges)
    assert all(a["ok"] for a in got["answers"])
    assert got["calls"] == [[0, 3000], [3000, 3000], [6000, 3000], [9000, 1000]]


def test_ranges_of_different_etags_are_not_joined(page: Any) -> None:
    got = page.evaluate("r => ask(r)", [[0, 10, "a"], [10, 10, "b"], [20, 10, "a"]])
    assert all(a["ok"] for a in got["answers"])
    assert [a["etag"] for a in got["answers"]] == ["a", "b", "a"]
    assert got["calls"] == [[0, 10], [10, 10], [20, 10]]


def test_ranges_asked_in_later_turns_are_separate_requests(page: Any) -> None:
    got = page.evaluate(
        """() => {
          var src = new geomap.lib.ranges.Coalescing(fake);
          return src.getBytes(0, 10).then(function () { return src.getBytes(10, 10); })
            .then(function () { return fake.calls.map(function (c) { return [c.offset, c.length]; }); });
        }"""
    )
    assert got == [[0, 10], [10, 10]]


def test_an_aborted_range_is_dropped_and_a_fully_aborted_request_cancelled(page: Any) -> None:
    got = page.evaluate(
        """() => {
          var src = new geomap.lib.ranges.Coalescing(fake);
          var one = new AbortController(), two = new AbortController(), three = new AbortController();
          var pending = [
            src.getBytes(0, 10, one.signal), src.getBytes(10, 10, two.signal),
            src.getBytes(1e6, 10, three.signal)
          ].map(function (p) {
            return p.then(function (g) { return "bytes " + g.data.byteLength; },
                          function (e) { return e.name; });
          });
          // After the joined requests went out: range 1 alone of its request, range 3 all.
          return new Promise(function (r) { setTimeout(r, 5); }).then(function () {
            one.abort(); three.abort();
            return Promise.all(pending);
          }).then(function (answers) {
            return { answers: answers, aborted: fake.calls.map(function (c) { return c.aborted; }) };
          });
        }"""
    )
    assert got["answers"] == ["AbortError", "bytes 10", "AbortError"]
    # The request of ranges 1 and 2 went on for range 2; the one of range 3 was cancelled.
    assert got["aborted"] == [False, True]


def test_a_range_aborted_before_it_is_asked_never_reaches_the_server(page: Any) -> None:
    got = page.evaluate(
        """() => {
          var src = new geomap.lib.ranges.Coalescing(fake), c = new AbortController();
          c.abort();
          return src.getBytes(0, 10, c.signal).then(function () { return "bytes"; },
            function (e) { return e.name; }).then(function (a) {
              return new Promise(function (r) { setTimeout(r, 30); })
                .then(function () { return [a, fake.calls.length]; });
            });
        }"""
    )
    assert got == ["AbortError", 0]


def test_a_failed_request_fails_every_range_in_it(page: Any) -> None:
    got = page.evaluate(
        """() => {
          fake.fail = "Bad response code: 500";
          var src = new geomap.lib.ranges.Coalescing(fake);
          return Promise.all([src.getBytes(0, 10), src.getBytes(10, 10)].map(function (p) {
            return p.then(function () { return "bytes"; }, function (e) { return e.message; });
          })).then(function (a) { return [a, fake.calls.length]; });
        }"""
    )
    assert got == [["Bad response code: 500", "Bad response code: 500"], 1]
