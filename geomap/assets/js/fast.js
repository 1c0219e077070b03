/* geomap fast layer: large layers drawn straight onto one canvas.
 *
 * Leaflet builds one object per feature (LatLngs, bounds, a path) and styles each one; at
 * 100,000 parcels that is most of the page's load time and memory. A fast layer instead
 * keeps all coordinates in typed arrays (quantised to 1e-6 degrees, delta-encoded, base64),
 * projects them to Web Mercator once, and finds the feature under the mouse with a uniform
 * grid index on the full geometry. Tooltips and popups are the same DOM elements the
 * ordinary layers use, built with textContent.
 *
 * Level of detail, per redraw (the same geometry at every zoom, no precomputed copies):
 * polygons smaller than TINY_PX on screen are their box's pixels; polygons up to RASTER_PX
 * are filled and outlined scanline by scanline into one image (one putImageData for all of
 * them); only polygons larger than that (a few thousand at most fit in view) are drawn as
 * canvas paths. Points and lines are always paths. Hit testing always uses the full
 * geometry, so the feature named is the one under the cursor whatever was drawn.
 */
(function (lib) {
  "use strict";

  function bytesOf(b64) {
    if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(b64);
    var text = atob(b64);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  function int32s(b64) {
    return new Int32Array(bytesOf(b64).buffer);
  }

  var RAD = Math.PI / 180;
  var MAX_LAT = 85.0511287798;

  // Web Mercator y in units of the whole world (0 at the north edge, 1 at the south), as
  // L.Projection.SphericalMercator.
  function mercY(lat) {
    var s = Math.sin(Math.max(Math.min(lat, MAX_LAT), -MAX_LAT) * RAD);
    return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
  }

  // Latitude steps of the projection table: 1024 quantised units (~0.001 degree); between
  // two entries y is interpolated linearly (error below 1e-5 m).
  var LAT_STEP_BITS = 10, LAT_STEP = 1 << LAT_STEP_BITS;

  // Coordinates: int16 deltas per axis, interleaved (dx, dy, dx, dy, ...); -32768 escapes a
  // 32-bit delta held in the next two int16 (high, low). Decoded and projected in one pass
  // into ux, uy: Web Mercator units relative to the layer's origin (ox, oy), as float32
  // (a 50 km layer keeps millimetres; the origin restores the absolute position).
  function FastData(fd, nFeatures) {
    var n = fd.nVertices, scale = fd.scale;
    var s = new Int16Array(bytesOf(fd.coords).buffer);
    this.ox = (fd.x0 + 180) / 360;
    this.oy = mercY(fd.y0);
    var ux = new Float32Array(n), uy = new Float32Array(n);
    var kx = 1 / (360 * scale), table = [0], oy = this.oy, y0 = fd.y0;
    var ax = 0, ay = 0, k = 0;
    for (var i = 0; i < s.length; i++) {
      var d = s[i];
      if (d === -32768) {
        d = (s[i + 1] << 16) | (s[i + 2] & 0xffff);
        i += 2;
      }
      if ((k & 1) === 0) {
        ax += d;
        ux[k >> 1] = ax * kx;
      } else {
        ay += d;
        var t = ay >> LAT_STEP_BITS;
        while (t + 1 >= table.length) table.push(mercY(y0 + table.length * LAT_STEP / scale) - oy);
        uy[k >> 1] = table[t] + (table[t + 1] - table[t]) * ((ay & (LAT_STEP - 1)) / LAT_STEP);
      }
      k++;
    }
    this.ux = ux;
    this.uy = uy;
    this.ringStart = int32s(fd.rings);
    this.featRing = int32s(fd.features);
    this.n = nFeatures;
    this.box = new Float32Array(4 * nFeatures); // minx, miny, maxx, maxy (relative units)
    this.present = 0;
    var rs = this.ringStart, fr = this.featRing, box = this.box;
    for (var f = 0; f < nFeatures; f++) {
      var minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
      var v0 = rs[fr[f]], v1 = rs[fr[f + 1]];
      for (var v = v0; v < v1; v++) {
        var x = ux[v], y = uy[v];
        if (x < minx) minx = x;
        if (x > maxx) maxx = x;
        if (y < miny) miny = y;
        if (y > maxy) maxy = y;
      }
      box[4 * f] = minx; box[4 * f + 1] = miny;
      box[4 * f + 2] = maxx; box[4 * f + 3] = maxy;
      if (minx !== Infinity) this.present++;
    }
    this.buildIndex();
  }

  FastData.prototype.buildIndex = function () {
    var minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity, f;
    for (f = 0; f < this.n; f++) {
      if (this.box[4 * f] === Infinity) continue;
      minx = Math.min(minx, this.box[4 * f]); miny = Math.min(miny, this.box[4 * f + 1]);
      maxx = Math.max(maxx, this.box[4 * f + 2]); maxy = Math.max(maxy, this.box[4 * f + 3]);
    }
    var g = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(this.present / 2))));
    this.grid = { g: g, minx: minx, miny: miny,
                  w: (maxx - minx) / g || 1e-12, h: (maxy - miny) / g || 1e-12 };
    var counts = new Int32Array(g * g + 1);
    var b = this.box, gr = this.grid, pass, items = null, fill = null;
    // Two passes over the features' cells: count, then place.
    for (pass = 0; pass < 2; pass++) {
      for (f = 0; f < this.n; f++) {
        if (b[4 * f] === Infinity) continue;
        var x0 = Math.min(g - 1, Math.floor((b[4 * f] - gr.minx) / gr.w));
        var x1 = Math.min(g - 1, Math.floor((b[4 * f + 2] - gr.minx) / gr.w));
        var y0 = Math.min(g - 1, Math.floor((b[4 * f + 1] - gr.miny) / gr.h));
        var y1 = Math.min(g - 1, Math.floor((b[4 * f + 3] - gr.miny) / gr.h));
        for (var cy = y0; cy <= y1; cy++) {
          for (var cx = x0; cx <= x1; cx++) {
            if (pass === 0) counts[cy * g + cx + 1]++;
            else items[fill[cy * g + cx]++] = f;
          }
        }
      }
      if (pass === 0) {
        for (var c = 0; c < g * g; c++) counts[c + 1] += counts[c];
        fill = counts.slice(0, g * g);
        items = new Int32Array(counts[g * g]);
      }
    }
    this.cellStart = counts;
    this.cellItems = items;
  };

  // Features whose box is within tol units of (ux, uy) (relative units), each once.
  FastData.prototype.candidates = function (ux, uy, tol) {
    var gr = this.grid, g = gr.g, out = [], seen = {};
    var x0 = Math.floor((ux - tol - gr.minx) / gr.w), x1 = Math.floor((ux + tol - gr.minx) / gr.w);
    var y0 = Math.floor((uy - tol - gr.miny) / gr.h), y1 = Math.floor((uy + tol - gr.miny) / gr.h);
    x0 = Math.max(0, x0); y0 = Math.max(0, y0); x1 = Math.min(g - 1, x1); y1 = Math.min(g - 1, y1);
    for (var cy = y0; cy <= y1; cy++) {
      for (var cx = x0; cx <= x1; cx++) {
        var c = cy * g + cx;
        for (var k = this.cellStart[c]; k < this.cellStart[c + 1]; k++) {
          var f = this.cellItems[k], b = this.box;
          if (ux >= b[4 * f] - tol && ux <= b[4 * f + 2] + tol &&
              uy >= b[4 * f + 1] - tol && uy <= b[4 * f + 3] + tol && !seen[f]) {
            seen[f] = true;
            out.push(f);
          }
        }
      }
    }
    return out;
  };

  FastData.prototype.contains = function (f, ux, uy) {
    var inside = false;
    for (var r = this.featRing[f]; r < this.featRing[f + 1]; r++) {
      var a = this.ringStart[r], z = this.ringStart[r + 1];
      for (var i = a, j = z - 1; i < z; j = i++) {
        var xi = this.ux[i], yi = this.uy[i], xj = this.ux[j], yj = this.uy[j];
        if ((yi > uy) !== (yj > uy) && ux < (xj - xi) * (uy - yi) / (yj - yi) + xi) inside = !inside;
      }
    }
    return inside;
  };

  // Squared distance (units) from (ux, uy) to line feature f.
  FastData.prototype.lineDist2 = function (f, ux, uy) {
    var best = Infinity;
    for (var r = this.featRing[f]; r < this.featRing[f + 1]; r++) {
      for (var v = this.ringStart[r]; v + 1 < this.ringStart[r + 1]; v++) {
        var ax = this.ux[v], ay = this.uy[v], bx = this.ux[v + 1], by = this.uy[v + 1];
        var dx = bx - ax, dy = by - ay, len = dx * dx + dy * dy;
        var t = len ? Math.max(0, Math.min(1, ((ux - ax) * dx + (uy - ay) * dy) / len)) : 0;
        var px = ax + t * dx - ux, py = ay + t * dy - uy;
        best = Math.min(best, px * px + py * py);
      }
    }
    return best;
  };

  // Squared distance (units) from (ux, uy) to point feature f.
  FastData.prototype.pointDist2 = function (f, ux, uy) {
    var v = this.ringStart[this.featRing[f]];
    var dx = this.ux[v] - ux, dy = this.uy[v] - uy;
    return dx * dx + dy * dy;
  };

  function unproject(ux, uy) {
    var lat = (2 * Math.atan(Math.exp((0.5 - uy) * 2 * Math.PI)) - Math.PI / 2) / RAD;
    return L.latLng(lat, ux * 360 - 180);
  }

  // -- the raster of small polygons --------------------------------------------------------

  // RGBA of a CSS colour, resolved by the browser (any CSS colour a style may hold).
  var probe = null, rgbaCache = {};
  function rgbaOf(color) {
    var key = String(color);
    if (rgbaCache[key]) return rgbaCache[key];
    if (!probe) {
      var c = document.createElement("canvas");
      c.width = c.height = 1;
      probe = c.getContext("2d", { willReadFrequently: true });
    }
    probe.clearRect(0, 0, 1, 1);
    probe.fillStyle = "#000";
    probe.fillStyle = key;
    probe.fillRect(0, 0, 1, 1);
    var d = probe.getImageData(0, 0, 1, 1).data;
    rgbaCache[key] = [d[0], d[1], d[2], d[3] / 255];
    return rgbaCache[key];
  }

  // A pixel (little-endian RGBA in a Uint32Array) of colour `top` at alpha `ta` over colour
  // `under` at alpha `ua` (source-over, as the canvas composites a stroke over its fill).
  function pixel(top, ta, under, ua) {
    var a = ta + ua * (1 - ta);
    if (a <= 0) return 0;
    var ch = [0, 1, 2].map(function (k) {
      return Math.round((top[k] * ta + under[k] * ua * (1 - ta)) / a);
    });
    return ((Math.round(a * 255) << 24) | (ch[2] << 16) | (ch[1] << 8) | ch[0]) >>> 0;
  }

  // The raster pixels of a style: fill (inside), edge (the outline over the fill) and tiny
  // (a polygon smaller than TINY_PX: its box, a little more opaque so it reads).
  function pixelsOf(style) {
    var fillOn = style.fill !== false, strokeOn = style.weight !== 0;
    var fc = rgbaOf(style.fillColor || style.color), sc = rgbaOf(style.color);
    var fo = (style.fillOpacity === undefined ? 0.2 : style.fillOpacity) * fc[3];
    var so = (style.opacity === undefined ? 1 : style.opacity) * sc[3];
    var fill = fillOn ? pixel(fc, fo, fc, 0) : 0;
    return {
      fill: fill,
      edge: strokeOn ? pixel(sc, so, fc, fillOn ? fo : 0) : fill,
      tiny: fillOn ? pixel(fc, Math.max(fo, 0.5), fc, 0) : (strokeOn ? pixel(sc, so, sc, 0) : 0)
    };
  }

  function fillBox(buf, W, x0, y0, x1, y1, color) {
    for (var y = y0; y < y1; y++) {
      for (var x = x0, row = y * W; x < x1; x++) buf[row + x] = color;
    }
  }

  // Feature f's inside, sampled at pixel centres: on each row, the spans between pairs of
  // edge crossings (even-odd, holes and parts included). xs is scratch space (returned,
  // grown when a row has more crossings).
  function fillPolygon(buf, W, H, fd, f, S, px0, py0, Y0, Y1, color, xs) {
    var ux = fd.ux, uy = fd.uy, rs = fd.ringStart, r0 = fd.featRing[f], r1 = fd.featRing[f + 1];
    var yA = Math.max(0, Math.ceil(Y0 - 0.5)), yB = Math.min(H - 1, Math.floor(Y1 - 0.5));
    for (var y = yA; y <= yB; y++) {
      var yc = y + 0.5, nx = 0;
      for (var r = r0; r < r1; r++) {
        var a = rs[r], z = rs[r + 1];
        for (var v = a, j = z - 1; v < z; j = v++) {
          var ya = uy[v] * S + py0, yb = uy[j] * S + py0;
          if ((ya > yc) !== (yb > yc)) {
            var xa = ux[v] * S + px0, xb = ux[j] * S + px0;
            if (nx === xs.length) {
              var grown = new Float64Array(2 * nx);
              grown.set(xs);
              xs = grown;
            }
            xs[nx++] = xa + (yc - ya) * (xb - xa) / (yb - ya);
          }
        }
      }
      for (var p = 1; p < nx; p++) { // insertion sort: a handful of crossings
        var key = xs[p], q = p - 1;
        while (q >= 0 && xs[q] > key) { xs[q + 1] = xs[q]; q--; }
        xs[q + 1] = key;
      }
      var row = y * W;
      for (p = 0; p + 1 < nx; p += 2) {
        var sx = Math.max(0, Math.ceil(xs[p] - 0.5)), ex = Math.min(W - 1, Math.floor(xs[p + 1] - 0.5));
        for (var x = sx; x <= ex; x++) buf[row + x] = color;
      }
    }
    return xs;
  }

  // Feature f's outline: the pixels each edge passes through (this also keeps a sliver
  // thinner than a pixel visible).
  function strokePolygon(buf, W, H, fd, f, S, px0, py0, color) {
    var ux = fd.ux, uy = fd.uy, rs = fd.ringStart, r0 = fd.featRing[f], r1 = fd.featRing[f + 1];
    for (var r = r0; r < r1; r++) {
      var a = rs[r], z = rs[r + 1];
      for (var v = a, j = z - 1; v < z; j = v++) {
        var x0 = ux[j] * S + px0, y0 = uy[j] * S + py0;
        var dx = ux[v] * S + px0 - x0, dy = uy[v] * S + py0 - y0;
        var steps = Math.ceil(Math.max(Math.abs(dx), Math.abs(dy))) || 1;
        dx /= steps;
        dy /= steps;
        for (var s = 0; s < steps; s++) {
          var x = Math.floor(x0 + dx * s), y = Math.floor(y0 + dy * s);
          if (x >= 0 && y >= 0 && x < W && y < H) buf[y * W + x] = color;
        }
      }
    }
  }

  var TINY_PX = 4, RASTER_PX = 12;

  var FastLayer = L.Canvas.extend({
    options: { padding: 0.1 },

    initialize: function (ld, hooks) {
      L.Canvas.prototype.initialize.call(this, { padding: 0.1 });
      this.ld = ld;
      this.hooks = hooks;
      this.fast = new FastData(ld.fast, ld.cls.length);
      this._order();
      // What the last redraw did (tests and benchmarks read it): features in view drawn as
      // paths, scanline-rasterised, as boxes; and the time it took in ms.
      this.drawStats = null;
    },

    // Draw order: one pass per class; features without data first, then class 0, 1, ...
    // (A counting sort: stable, linear, so a year switch on 100k features stays quick.)
    _order: function () {
      var cls = this.ld.cls, n = this.fast.n, f, maxC = 0;
      for (f = 0; f < n; f++) if (cls[f] > maxC) maxC = cls[f];
      var start = new Int32Array(maxC + 3);
      for (f = 0; f < n; f++) start[cls[f] + 2]++;
      for (var c = 1; c < start.length; c++) start[c] += start[c - 1];
      var order = new Int32Array(n);
      for (f = 0; f < n; f++) order[start[cls[f] + 1]++] = f;
      this.order = order;
      // rank[f]: f's place in the drawing order (higher is drawn later, on top).
      this.rank = new Int32Array(order.length);
      for (var k = 0; k < order.length; k++) this.rank[order[k]] = k;
      // hidden[f] = 1 for features a filter hides: not drawn, not hit.
      this.hidden = this.hidden || null;
    },

    // After ld.cls changed (a year switch): the drawing order follows the new classes.
    reorder: function () {
      this._order();
    },

    // After ld.styles or a filter changed: redraw now.
    restyle: function () {
      if (this._map) this._redraw();
    },

    onAdd: function (map) {
      L.Canvas.prototype.onAdd.call(this, map);
      this._container.style.pointerEvents = "none"; // hit-testing is done from map events
      map.on("mousemove", this._hover, this);
      map.on("click", this._click, this);
      map.on("mouseout", this._leave, this);
    },

    onRemove: function (map) {
      map.off("mousemove", this._hover, this);
      map.off("click", this._click, this);
      map.off("mouseout", this._leave, this);
      this._leave();
      L.Canvas.prototype.onRemove.call(this, map);
    },

    _updatePaths: function () {
      if (this._postponeUpdatePaths) return;
      this._redrawBounds = null;
      this._redraw();
    },

    _styleOf: function (c) {
      return c >= 0 ? this.ld.styles[c] : this.ld.noData;
    },

    _draw: function () {
      var map = this._map, ctx = this._ctx, fd = this.fast, ld = this.ld;
      if (!map || !ctx) return;
      var t0 = performance.now();
      var scale = 256 * Math.pow(2, map.getZoom());
      var origin = map.getPixelOrigin();
      var b = this._bounds;
      // The view in the layer's relative units.
      var vx0 = (b.min.x + origin.x) / scale - fd.ox, vx1 = (b.max.x + origin.x) / scale - fd.ox;
      var vy0 = (b.min.y + origin.y) / scale - fd.oy, vy1 = (b.max.y + origin.y) / scale - fd.oy;
      // Layer points of relative units: x * scale + lx (what the canvas paths use).
      var lx = fd.ox * scale - origin.x, ly = fd.oy * scale - origin.y;
      var stats = { paths: 0, raster: 0, boxes: 0, ms: 0 };
      var order = this.order, paths = order;
      if (ld.geom === "polygon") paths = this._raster(scale, lx, ly, [vx0, vy0, vx1, vy1], stats);
      ctx.save();
      ctx.lineJoin = "round";
      ctx.lineCap = "round";
      // Features are drawn class by class, a few hundred per path: one path per feature
      // costs a call each, while one path of 100,000 contours overwhelms the rasteriser.
      var BATCH = 256, geom = ld.geom, i = 0, np = paths.length;
      while (i < np) {
        var c = ld.cls[paths[i]];
        var style = this._styleOf(c);
        this._setStyle(ctx, style);
        while (i < np && ld.cls[paths[i]] === c) {
          ctx.beginPath();
          var drawn = 0;
          for (; i < np && ld.cls[paths[i]] === c && drawn < BATCH; i++) {
            var f = paths[i], bx = fd.box;
            if (paths === order) {
              if (this.hidden && this.hidden[f]) continue;
              if (bx[4 * f] > vx1 || bx[4 * f + 2] < vx0 || bx[4 * f + 1] > vy1 || bx[4 * f + 3] < vy0) continue;
            }
            drawn++;
            for (var r = fd.featRing[f]; r < fd.featRing[f + 1]; r++) {
              var v = fd.ringStart[r], end = fd.ringStart[r + 1];
              var x = fd.ux[v] * scale + lx, y = fd.uy[v] * scale + ly;
              if (geom === "point") {
                var radius = style.radius || 5;
                ctx.moveTo(x + radius, y);
                ctx.arc(x, y, radius, 0, 2 * Math.PI);
                continue;
              }
              ctx.moveTo(x, y);
              for (v++; v < end; v++) ctx.lineTo(fd.ux[v] * scale + lx, fd.uy[v] * scale + ly);
              if (geom === "polygon") ctx.closePath();
            }
          }
          stats.paths += drawn;
          if (drawn) this._paint(ctx, style, geom);
        }
      }
      ctx.restore();
      stats.ms = performance.now() - t0;
      this.drawStats = stats;
    },

    // Polygons in view up to RASTER_PX wide and high go into one image, pixel by pixel, in
    // drawing order (a later feature's pixels replace an earlier one's); returns the
    // features left to draw as paths (larger ones), in drawing order.
    _raster: function (scale, lx, ly, view, stats) {
      var fd = this.fast, ld = this.ld, cont = this._container, b = this._bounds;
      var W = cont.width, H = cont.height;
      var m = W / Math.max(1, b.max.x - b.min.x); // device pixels per CSS pixel
      // Canvas pixels of relative units: x * S + px0.
      var S = scale * m, px0 = (lx - b.min.x) * m, py0 = (ly - b.min.y) * m;
      if (!this._img || this._img.width !== W || this._img.height !== H) {
        this._img = new ImageData(W, H);
        this._buf = new Uint32Array(this._img.data.buffer);
      } else {
        this._buf.fill(0);
      }
      var buf = this._buf, order = this.order, hidden = this.hidden, box = fd.box;
      var tinyU = TINY_PX / scale, rasterU = RASTER_PX / scale;
      var big = [], lastC = null, px = null;
      var xs = this._xs || new Float64Array(64);
      var dirty = [W, H, -1, -1];
      for (var i = 0; i < order.length; i++) {
        var f = order[i];
        if (hidden && hidden[f]) continue;
        var bx0 = box[4 * f], by0 = box[4 * f + 1], bx1 = box[4 * f + 2], by1 = box[4 * f + 3];
        if (bx0 > view[2] || bx1 < view[0] || by0 > view[3] || by1 < view[1]) continue;
        var bw = bx1 - bx0, bh = by1 - by0;
        if (bw > rasterU || bh > rasterU) { big.push(f); continue; }
        var c = ld.cls[f];
        if (c !== lastC) { px = pixelsOf(this._styleOf(c)); lastC = c; }
        var X0 = bx0 * S + px0, Y0 = by0 * S + py0, X1 = bx1 * S + px0, Y1 = by1 * S + py0;
        if (bw < tinyU && bh < tinyU) {
          // Its box's pixels, at least one.
          var ix0 = Math.max(0, Math.round(X0)), iy0 = Math.max(0, Math.round(Y0));
          var ix1 = Math.min(W, Math.max(Math.round(X0) + 1, Math.round(X1)));
          var iy1 = Math.min(H, Math.max(Math.round(Y0) + 1, Math.round(Y1)));
          if (px.tiny) fillBox(buf, W, ix0, iy0, ix1, iy1, px.tiny);
          if (ix0 < dirty[0]) dirty[0] = ix0;
          if (iy0 < dirty[1]) dirty[1] = iy0;
          if (ix1 > dirty[2]) dirty[2] = ix1;
          if (iy1 > dirty[3]) dirty[3] = iy1;
          stats.boxes++;
          continue;
        }
        stats.raster++;
        if (px.fill) xs = fillPolygon(buf, W, H, fd, f, S, px0, py0, Y0, Y1, px.fill, xs);
        if (px.edge) strokePolygon(buf, W, H, fd, f, S, px0, py0, px.edge);
        var dx0 = Math.max(0, Math.floor(X0) - 1), dy0 = Math.max(0, Math.floor(Y0) - 1);
        if (dx0 < dirty[0]) dirty[0] = dx0;
        if (dy0 < dirty[1]) dirty[1] = dy0;
        if (Math.ceil(X1) + 1 > dirty[2]) dirty[2] = Math.min(W, Math.ceil(X1) + 1);
        if (Math.ceil(Y1) + 1 > dirty[3]) dirty[3] = Math.min(H, Math.ceil(Y1) + 1);
      }
      this._xs = xs;
      if (dirty[2] > dirty[0] && dirty[3] > dirty[1]) {
        this._ctx.putImageData(this._img, 0, 0, dirty[0], dirty[1],
                               dirty[2] - dirty[0], dirty[3] - dirty[1]);
      }
      return big;
    },

    _setStyle: function (ctx, style) {
      ctx.fillStyle = style.fillColor || style.color;
      ctx.strokeStyle = style.color;
      ctx.lineWidth = style.weight === undefined ? 1 : style.weight;
      ctx.setLineDash(style.dashArray ? String(style.dashArray).split(/[ ,]+/).map(Number) : []);
    },

    _paint: function (ctx, style, geom) {
      if (geom !== "line" && style.fill !== false) {
        ctx.globalAlpha = style.fillOpacity === undefined ? 0.2 : style.fillOpacity;
        ctx.fill("evenodd");
      }
      if (style.weight !== 0) {
        ctx.globalAlpha = style.opacity === undefined ? 1 : style.opacity;
        ctx.stroke();
      }
    },

    // The feature under a map event, or -1.
    featureAt: function (e) {
      return this.hitAt(e.latlng);
    },

    // Half the drawn size of feature f's mark, in pixels: a point's disc with its outline,
    // half a line's stroke. The cursor hits f when it is on the mark (plus one pixel).
    _reachPx: function (f) {
      var ld = this.ld, c = ld.cls[f];
      var style = (c >= 0 ? ld.styles[c] : ld.noData) || {};
      var weight = style.weight === undefined ? 1 : style.weight;
      if (ld.geom === "point") return (style.radius || 5) + weight / 2 + 1;
      return Math.max(weight / 2, 2) + 2;
    },

    // The feature under latlng: among the features whose drawn mark covers it, the nearest
    // (a point's centre, a line's stroke; a polygon containing it is at distance 0), and of
    // equally near ones the one drawn last (on top). -1 if none. Always on the full geometry.
    hitAt: function (latlng) {
      var map = this._map, fd = this.fast, ld = this.ld;
      if (!map) return -1;
      var scale = 256 * Math.pow(2, map.getZoom());
      var p = map.project(latlng, map.getZoom());
      var ux = p.x / scale - fd.ox, uy = p.y / scale - fd.oy;
      var maxReach = 0, f, k;
      if (ld.geom !== "polygon") {
        for (k = 0; k < ld.styles.length; k++) {
          var s = ld.styles[k] || {};
          maxReach = Math.max(maxReach, ld.geom === "point" ? (s.radius || 5) + (s.weight || 1) / 2 + 1
                                                             : Math.max((s.weight || 1) / 2, 2) + 2);
        }
        maxReach = Math.max(maxReach, this._reachPx(-1));
      }
      var found = fd.candidates(ux, uy, maxReach / scale);
      var best = -1, bestD = Infinity;
      for (k = 0; k < found.length; k++) {
        f = found[k];
        if (this.hidden && this.hidden[f]) continue;
        var d;
        if (ld.geom === "polygon") {
          if (!fd.contains(f, ux, uy)) continue;
          d = 0;
        } else {
          var reach = this._reachPx(f) / scale;
          d = ld.geom === "line" ? fd.lineDist2(f, ux, uy) : fd.pointDist2(f, ux, uy);
          if (d > reach * reach) continue;
        }
        if (d < bestD || (d === bestD && this.rank[f] > this.rank[best])) { best = f; bestD = d; }
      }
      return best;
    },

    // Hits go to the page's arbiter (hooks), which shows one tooltip or popup for the
    // topmost feature of all layers under the mouse.
    _hover: function (e) {
      this.hooks.hover(this.featureAt(e));
    },

    _leave: function () {
      this.hooks.hover(-1);
    },

    _click: function (e) {
      var f = this.featureAt(e);
      if (f >= 0) this.hooks.click(f);
    },

    boundsOf: function (f) {
      var b = this.fast.box, ox = this.fast.ox, oy = this.fast.oy;
      return L.latLngBounds(unproject(b[4 * f] + ox, b[4 * f + 3] + oy),
                            unproject(b[4 * f + 2] + ox, b[4 * f + 1] + oy));
    }
  });

  lib.FastLayer = FastLayer;
})(window.geomap.lib);
