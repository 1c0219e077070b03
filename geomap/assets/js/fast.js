/* geomap fast layer: large layers drawn straight onto one canvas.
 *
 * Leaflet builds one object per feature (LatLngs, bounds, a path) and styles each one; at
 * 100,000 parcels that is most of the page's load time and memory. A fast layer instead
 * keeps all coordinates in typed arrays (quantised to 1e-6 degrees, delta-encoded, base64),
 * projects them to Web Mercator once, draws every class in one path per redraw, and finds
 * the feature under the mouse with a uniform grid index. Tooltips and popups are the same
 * DOM elements the ordinary layers use, built with textContent.
 */
(function (lib) {
  "use strict";

  function bytesOf(b64) {
    var text = atob(b64);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  function int32s(b64) {
    return new Int32Array(bytesOf(b64).buffer);
  }

  // Coordinates: int16 deltas per axis, interleaved (dx, dy, dx, dy, ...); -32768 escapes a
  // 32-bit delta held in the next two int16 (high, low).
  function decodeCoords(b64, nVertices) {
    var s = new Int16Array(bytesOf(b64).buffer);
    var out = new Int32Array(nVertices * 2);
    var acc = [0, 0];
    var k = 0;
    for (var i = 0; i < s.length; i++) {
      var d = s[i];
      if (d === -32768) {
        d = (s[i + 1] << 16) | (s[i + 2] & 0xffff);
        i += 2;
      }
      acc[k & 1] += d;
      out[k] = acc[k & 1];
      k++;
    }
    return out;
  }

  var RAD = Math.PI / 180;
  var MAX_LAT = 85.0511287798;

  function FastData(fd, nFeatures) {
    var q = decodeCoords(fd.coords, fd.nVertices);
    var n = fd.nVertices;
    this.ringStart = int32s(fd.rings);
    this.featRing = int32s(fd.features);
    // Web Mercator in units of the whole world (0..1), as L.Projection.SphericalMercator.
    this.ux = new Float64Array(n);
    this.uy = new Float64Array(n);
    for (var i = 0; i < n; i++) {
      var lon = fd.x0 + q[2 * i] / fd.scale;
      var lat = Math.max(Math.min(fd.y0 + q[2 * i + 1] / fd.scale, MAX_LAT), -MAX_LAT);
      this.ux[i] = (lon + 180) / 360;
      var s = Math.sin(lat * RAD);
      this.uy[i] = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
    }
    this.n = nFeatures;
    this.box = new Float64Array(4 * nFeatures); // minx, miny, maxx, maxy (units)
    this.present = 0;
    for (var f = 0; f < nFeatures; f++) {
      var minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
      for (var r = this.featRing[f]; r < this.featRing[f + 1]; r++) {
        for (var v = this.ringStart[r]; v < this.ringStart[r + 1]; v++) {
          var x = this.ux[v], y = this.uy[v];
          if (x < minx) minx = x;
          if (x > maxx) maxx = x;
          if (y < miny) miny = y;
          if (y > maxy) maxy = y;
        }
      }
      this.box[4 * f] = minx; this.box[4 * f + 1] = miny;
      this.box[4 * f + 2] = maxx; this.box[4 * f + 3] = maxy;
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
    var g = Math.max(1, Math.min(512, Math.ceil(Math.sqrt(this.present / 2))));
    this.grid = { g: g, minx: minx, miny: miny,
                  w: (maxx - minx) / g || 1e-12, h: (maxy - miny) / g || 1e-12 };
    var counts = new Int32Array(g * g + 1);
    var self = this;
    function cells(f, visit) {
      var b = self.box, gr = self.grid;
      if (b[4 * f] === Infinity) return;
      var x0 = Math.min(g - 1, Math.floor((b[4 * f] - gr.minx) / gr.w));
      var x1 = Math.min(g - 1, Math.floor((b[4 * f + 2] - gr.minx) / gr.w));
      var y0 = Math.min(g - 1, Math.floor((b[4 * f + 1] - gr.miny) / gr.h));
      var y1 = Math.min(g - 1, Math.floor((b[4 * f + 3] - gr.miny) / gr.h));
      for (var cy = y0; cy <= y1; cy++) for (var cx = x0; cx <= x1; cx++) visit(cy * g + cx);
    }
    for (f = 0; f < this.n; f++) cells(f, function (c) { counts[c + 1]++; });
    for (var c = 0; c < g * g; c++) counts[c + 1] += counts[c];
    var fill = counts.slice(0, g * g);
    var items = new Int32Array(counts[g * g]);
    for (f = 0; f < this.n; f++) cells(f, function (c) { items[fill[c]++] = f; });
    this.cellStart = counts;
    this.cellItems = items;
  };

  // Features whose box is within tol units of (ux, uy), each once.
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

  var FastLayer = L.Canvas.extend({
    options: { padding: 0.3 },

    initialize: function (ld, hooks) {
      L.Canvas.prototype.initialize.call(this, { padding: 0.3 });
      this.ld = ld;
      this.hooks = hooks;
      this.fast = new FastData(ld.fast, ld.cls.length);
      this._order();
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

    _draw: function () {
      var map = this._map, ctx = this._ctx, fd = this.fast, ld = this.ld;
      if (!map || !ctx) return;
      var scale = 256 * Math.pow(2, map.getZoom());
      var origin = map.getPixelOrigin();
      var b = this._bounds;
      var vx0 = (b.min.x + origin.x) / scale, vx1 = (b.max.x + origin.x) / scale;
      var vy0 = (b.min.y + origin.y) / scale, vy1 = (b.max.y + origin.y) / scale;
      var geom = ld.geom, order = this.order, i = 0;
      ctx.save();
      ctx.lineJoin = "round";
      ctx.lineCap = "round";
      // Features are drawn class by class, a few hundred per path: one path per feature
      // costs a call each, while one path of 100,000 contours overwhelms the rasteriser.
      var BATCH = 256;
      // Polygons smaller than TINY_PX on screen are drawn as filled boxes without outline
      // (at the opening view of 100k parcels most are 2-4 px): a path of a few hundred
      // outlines costs most of a redraw, a box almost nothing, and at that size they look
      // alike.
      var TINY_PX = 4;
      var tinyUnits = geom === "polygon" ? TINY_PX / scale : -1;
      while (i < order.length) {
        var c = ld.cls[order[i]];
        var style = c >= 0 ? ld.styles[c] : ld.noData;
        this._setStyle(ctx, style);
        var tiny = null;
        while (i < order.length && ld.cls[order[i]] === c) {
          ctx.beginPath();
          var drawn = 0;
          for (; i < order.length && ld.cls[order[i]] === c && drawn < BATCH; i++) {
            var f = order[i], bx = fd.box;
            if (this.hidden && this.hidden[f]) continue;
            if (bx[4 * f] > vx1 || bx[4 * f + 2] < vx0 || bx[4 * f + 1] > vy1 || bx[4 * f + 3] < vy0) continue;
            var bw = bx[4 * f + 2] - bx[4 * f], bh = bx[4 * f + 3] - bx[4 * f + 1];
            if (bw < tinyUnits && bh < tinyUnits) {
              if (!tiny) tiny = new Path2D();
              tiny.rect(bx[4 * f] * scale - origin.x, bx[4 * f + 1] * scale - origin.y,
                        Math.max(bw * scale, 1), Math.max(bh * scale, 1));
              continue;
            }
            drawn++;
            for (var r = fd.featRing[f]; r < fd.featRing[f + 1]; r++) {
              var v = fd.ringStart[r], end = fd.ringStart[r + 1];
              var x = fd.ux[v] * scale - origin.x, y = fd.uy[v] * scale - origin.y;
              if (geom === "point") {
                var radius = style.radius || 5;
                ctx.moveTo(x + radius, y);
                ctx.arc(x, y, radius, 0, 2 * Math.PI);
                continue;
              }
              ctx.moveTo(x, y);
              for (v++; v < end; v++) ctx.lineTo(fd.ux[v] * scale - origin.x, fd.uy[v] * scale - origin.y);
              if (geom === "polygon") ctx.closePath();
            }
          }
          if (drawn) this._paint(ctx, style, geom);
        }
        if (tiny && style.fill !== false) {
          ctx.globalAlpha = Math.max(style.fillOpacity === undefined ? 0.2 : style.fillOpacity, 0.5);
          ctx.fill(tiny);
        } else if (tiny && style.weight !== 0) {
          ctx.globalAlpha = style.opacity === undefined ? 1 : style.opacity;
          ctx.stroke(tiny);
        }
      }
      ctx.restore();
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
    // equally near ones the one drawn last (on top). -1 if none.
    hitAt: function (latlng) {
      var map = this._map, fd = this.fast, ld = this.ld;
      if (!map) return -1;
      var scale = 256 * Math.pow(2, map.getZoom());
      var p = map.project(latlng, map.getZoom());
      var ux = p.x / scale, uy = p.y / scale;
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
      var b = this.fast.box;
      return L.latLngBounds(unproject(b[4 * f], b[4 * f + 3]), unproject(b[4 * f + 2], b[4 * f + 1]));
    }
  });

  lib.FastLayer = FastLayer;
})(window.geomap.lib);

