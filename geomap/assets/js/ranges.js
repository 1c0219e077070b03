/* geomap client: the byte ranges a map view asks of a tile archive, read in a few requests.
 *
 * A view at street level draws some thirty to fifty tiles. Asked one HTTP Range request
 * each, they wait for one of the browser's six HTTP/1.1 connections to the server, and the
 * last tile of a view arrives after five or more round trips (at 1 M parcels, tile p95
 * 245 ms although the server answers in 5 ms; README "County scale"). A PMTiles archive
 * written clustered keeps its tiles in Hilbert order, so a view's tiles lie in a few runs
 * of the file. The ranges asked in one turn of the event loop are sorted, those at most
 * `gap` bytes apart joined (up to `max` bytes a request), each joined range read with one
 * request through the wrapped source (pmtiles.FetchSource), and each caller given its own
 * slice: same bytes, a handful of requests a view.
 *
 * A caller's AbortSignal drops its range; a joined request is aborted when every range in
 * it was.
 */
(function (lib) {
  "use strict";

  function abortError() {
    return new DOMException("The tile request was aborted.", "AbortError");
  }

  function Coalescing(inner, options) {
    options = options || {};
    this.inner = inner;
    this.gap = options.gap === undefined ? 64 * 1024 : options.gap;
    this.max = options.max === undefined ? 8 * 1024 * 1024 : options.max;
    this.pending = [];
    this.timer = null;
    this.asked = 0;
    this.requests = 0;
  }

  // The pmtiles Source interface: getKey() and getBytes(offset, length, signal, etag).
  Coalescing.prototype.getKey = function () { return this.inner.getKey(); };

  Coalescing.prototype.getBytes = function (offset, length, signal, etag) {
    var self = this;
    return new Promise(function (resolve, reject) {
      if (signal && signal.aborted) { reject(abortError()); return; }
      var asked = { offset: offset, length: length, etag: etag, signal: signal,
                    resolve: resolve, reject: reject, done: false, group: null };
      self.asked += 1;
      self.pending.push(asked);
      if (signal) {
        signal.addEventListener("abort", function () { self.drop(asked); }, { once: true });
      }
      if (self.timer === null) self.timer = setTimeout(function () { self.flush(); }, 0);
    });
  };

  Coalescing.prototype.drop = function (asked) {
    if (asked.done) return;
    asked.done = true;
    asked.reject(abortError());
    var group = asked.group;
    if (group && group.parts.every(function (a) { return a.done; })) group.controller.abort();
  };

  // The ranges asked since the last flush, joined into groups of nearby ranges.
  Coalescing.prototype.groups = function (asked) {
    var gap = this.gap, max = this.max, groups = [], group = null;
    asked.slice().sort(function (a, b) { return a.offset - b.offset; }).forEach(function (a) {
      var end = a.offset + a.length;
      if (group && a.etag === group.etag && a.offset - group.end <= gap &&
          Math.max(end, group.end) - group.start <= max) {
        group.end = Math.max(group.end, end);
      } else {
        group = { start: a.offset, end: end, etag: a.etag, parts: [],
                  controller: new AbortController() };
        groups.push(group);
      }
      group.parts.push(a);
      a.group = group;
    });
    return groups;
  };

  Coalescing.prototype.flush = function () {
    var self = this;
    var asked = this.pending.filter(function (a) { return !a.done; });
    this.pending = [];
    this.timer = null;
    this.groups(asked).forEach(function (group) {
      self.requests += 1;
      self.inner.getBytes(group.start, group.end - group.start, group.controller.signal, group.etag)
        .then(function (got) {
          group.parts.forEach(function (a) {
            if (a.done) return;
            a.done = true;
            var from = a.offset - group.start;
            a.resolve({ data: got.data.slice(from, from + a.length), etag: got.etag,
                        cacheControl: got.cacheControl, expires: got.expires });
          });
        }, function (error) {
          group.parts.forEach(function (a) {
            if (a.done) return;
            a.done = true;
            a.reject(error);
          });
        });
    });
  };

  // A file at url read in joined Range requests, past the browser's HTTP cache ("no-store",
  // which the vendored pmtiles 4.5.0 already uses on Chrome for Windows): Chromium's cache
  // lets one request at a time write an entry, so the Range requests of a view into one
  // file waited for each other (at 1 M parcels, a tile's p95 fell from 0.9-1.4 s to
  // 0.2-0.4 s under load; README "County scale"). Needs the vendored pmtiles.
  function rangeSource(url) {
    var fetched = new pmtiles.FetchSource(url);
    fetched.chromeWindowsNoCache = true;
    return new Coalescing(fetched);
  }

  lib.ranges = { Coalescing: Coalescing, source: rangeSource };
})(window.geomap.lib);
