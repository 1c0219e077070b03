/* geomap client: the search index of a layer drawn from vector tiles (tiles.js), read
 * beside the page: find the features whose name holds a query, and a point inside each.
 */
(function (lib) {
  "use strict";

  // The search index of a tiled layer (geomap/tiles.py: write_index), in feature order: the
  // names, gzipped text, one line each (escaped: \\, \t, \n, \r); the points, 8 bytes each
  // (int32 x, y steps of 1/scale degree from x0, y0), read with Range requests for the
  // features found only. A search finds the query with indexOf in each piece of the text
  // (in its lowercase when the query has letters with case), counting lines to know each
  // match's feature, and keeps only the matches. Names of at most INDEX.inMemory bytes are
  // read once and kept; more are streamed again for each search (fetched, inflated, decoded
  // a piece at a time), the read stopped once enough matches are found or a new search
  // starts: the heap holds a piece or two, never the whole index.
  var INDEX = { inMemory: 32e6, piece: 1 << 15 };
  var NO_POINT = -2147483648;

  function escapeName(s) {
    return s.replace(/[\\\t\n\r]/g, function (c) {
      return c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r";
    });
  }

  function unescapeName(s) {
    if (s.indexOf("\\") < 0) return s;
    return s.replace(/\\([\\tnr])/g, function (_, c) {
      return c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : "\\";
    });
  }

  // Whole lines of the index (text ends with "\n"), the first one feature `first`'s.
  function Piece(text, first) {
    this.text = text;
    this.first = first;
    this.low = undefined;
    var n = 0, at = -1;
    while ((at = text.indexOf("\n", at + 1)) >= 0) n++;
    this.lines = n;
  }

  // Its lowercase, made once: of the same length, so that a position in one is the same in
  // the other; null when lowercasing changed the length (every line is then looked at).
  Piece.prototype.lower = function () {
    if (this.low === undefined) {
      var text = this.text, low = text.toLowerCase();
      // (U+0130 is the one letter whose lowercase is two characters.)
      if (low.length !== text.length) low = text.replace(/\u0130/g, "i").toLowerCase();
      this.low = low.length !== text.length ? null : low === text ? text : low;
    }
    return this.low;
  };

  // Adds to out the lines whose name holds q (lowercase), {i, name}, until out holds limit.
  // needle: q escaped as in the index; cased: q has letters with case (else the text
  // itself is searched: its lowercase holds q exactly where it does).
  Piece.prototype.scan = function (q, needle, cased, out, limit) {
    var text = this.text, low = cased ? this.lower() : text;
    var line = this.first, at = 0, from = 0, nl;
    while (out.length < limit) {
      // A line holding the needle; the feature's line counted up to it.
      var hit = low ? low.indexOf(needle, from) : from < text.length ? from : -1;
      if (hit < 0) return;
      while ((nl = text.indexOf("\n", at)) < hit) { line++; at = nl + 1; }
      // The name itself holds q (not only its escapes: "\n" holds "n").
      var name = unescapeName(text.slice(at, nl));
      if (name.toLowerCase().indexOf(q) >= 0) out.push({ i: line, name: name });
      from = at = nl + 1;
      line++;
    }
  };

  // Read the index at url piece by piece (whole lines, about INDEX.piece characters):
  // each(piece) for each until it returns false, which stops the read. A promise.
  function readIndex(url, signal, each) {
    return fetch(url, { signal: signal }).then(function (r) {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      // gzip, inflated here: no static server says so.
      var reader = r.body.pipeThrough(new DecompressionStream("gzip"))
        .pipeThrough(new TextDecoderStream()).getReader();
      var rest = "", first = 0;
      // Pieces of whole lines from the front of rest, of at most INDEX.piece characters
      // (unless a line is longer), all of it at the end; false once each() says stop.
      function pieces(all) {
        while (rest.length >= INDEX.piece || (all && rest.length)) {
          var cut = rest.lastIndexOf("\n", INDEX.piece - 1) + 1 || rest.indexOf("\n", INDEX.piece) + 1;
          if (!cut) {
            if (!all) return true;
            cut = rest.length;
          }
          var text = rest.slice(0, cut);
          rest = rest.slice(cut);
          if (text.charCodeAt(text.length - 1) !== 10) text += "\n";
          var piece = new Piece(text, first);
          first += piece.lines;
          if (each(piece) === false) return false;
        }
        return true;
      }
      function next() {
        return reader.read().then(function (res) {
          if (res.done) { pieces(true); return; }
          rest += res.value;
          if (!pieces(false)) return reader.cancel();
          return next();
        });
      }
      return next();
    });
  }

  function IndexSearch(info) {
    this.info = info;
    this.loading = null; // the kept index's pieces (a promise), once asked for
    this.current = null; // the streamed search under way (its AbortController)
    this.seq = 0;
    this.points = {}; // feature -> [lng, lat], of search results and located features
  }

  IndexSearch.prototype.streamed = function () { return this.info.bytes > INDEX.inMemory; };

  IndexSearch.prototype.load = function () {
    var self = this;
    if (!this.loading) {
      var pieces = [];
      this.loading = readIndex(this.info.url, undefined, function (p) { pieces.push(p); })
        .then(function () { return pieces; });
      this.loading.catch(function () { self.loading = null; }); // tried again next time
    }
    return this.loading;
  };

  // The points of features (those not known yet) read from the points file, 8 bytes each:
  // asked together, their ranges are joined into a few Range requests (ranges.js), past
  // the browser's cache as the tiles are.
  IndexSearch.prototype.readPoints = function (features) {
    var self = this, info = this.info;
    if (!this.pointSource) this.pointSource = lib.ranges.source(info.points);
    var source = this.pointSource;
    return Promise.all(features.filter(function (i) { return !(i in self.points); })
      .map(function (i) {
        return source.getBytes(8 * i, 8).then(function (got) {
          var v = new DataView(got.data), x = v.getInt32(0, true), y = v.getInt32(4, true);
          self.points[i] = x === NO_POINT ? null : [info.x0 + x / info.scale, info.y0 + y / info.scale];
        }, function () {}); // no point known: the result is listed, not zoomed to
      }));
  };

  // done(results) with up to limit features whose name holds query ([{i, name}], in
  // feature order, their points read), or done([], error); before it, found(more) (when
  // given) with the results of each piece read that had some. A new search drops this one:
  // neither is called again.
  IndexSearch.prototype.search = function (query, limit, done, found) {
    var self = this, seq = ++this.seq, out = [], told = 0;
    if (this.current) { this.current.abort(); this.current = null; }
    var q = query.toLowerCase(), needle = escapeName(q), cased = q !== q.toUpperCase();
    function each(piece) {
      if (seq !== self.seq) return false;
      piece.scan(q, needle, cased, out, limit);
      if (found && out.length > told) {
        found(out.slice(told));
        told = out.length;
      }
      return out.length < limit;
    }
    function finish() {
      if (seq !== self.seq) return;
      self.readPoints(out.map(function (m) { return m.i; })).then(function () {
        if (seq === self.seq) done(out);
      });
    }
    function failed(error) { if (seq === self.seq) done([], error); }
    if (!this.streamed()) {
      this.load().then(function (pieces) { pieces.every(each); finish(); }, failed);
      return;
    }
    var controller = new AbortController();
    this.current = controller;
    readIndex(this.info.url, controller.signal, each).then(function () {
      if (self.current === controller) self.current = null;
      controller.abort(); // stopped early: nothing more to fetch
      finish();
    }, failed);
  };

  // done() once feature i's point is known to pointOf (or known to be none).
  IndexSearch.prototype.locate = function (i, done) {
    var ok = i >= 0 && i < this.info.count;
    (ok ? this.readPoints([i]) : Promise.resolve()).then(function () { done(); });
  };

  IndexSearch.prototype.pointOf = function (i) { return this.points[i] || null; };

  lib.tileIndex = { IndexSearch: IndexSearch, settings: INDEX };
})(window.geomap.lib);
