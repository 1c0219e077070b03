/* geomap client: a layer drawn from vector tiles beside the page (geomap/tiles.py).
 *
 * The tiles (a PMTiles archive, read with HTTP Range requests through the vendored
 * pmtiles) are drawn by the vendored protomaps-leaflet from ld.tiles.minZoom up, where
 * every feature is in them; below that zoom the layer shows its summary grid (features
 * counted per cell), never a thinned sample. Each tile feature carries its index (_i), its
 * class (_c) and its public fields (f<k>); hovering one copies its fields into ld.values
 * so tooltips, popups and the list read them as for any layer. Text reaches the page
 * through textContent only.
 */
(function (lib) {
  "use strict";
  var el = lib.dom.el;

  function valueKey(v) {
    return v === null || v === undefined || v === "" ? "" : String(v);
  }

  // Shown under the layer's filters (legend classes off, facet values off)?
  function shownProps(ld, props) {
    var f = ld.filter;
    if (!f) return true;
    var c = props._c === undefined ? -1 : props._c;
    if (f.off[c] === true) return false;
    for (var field in f.facets) {
      if (f.facets[field][valueKey(props["f" + field])] === true) return false;
    }
    return true;
  }

  // Drawing. protomaps-leaflet calls a rule's symbolizer once per tile (before) and then
  // once per feature (draw); its own symbolizers fill and stroke every feature on its own,
  // tens of thousands of canvas calls per view. Here a class's features are added to one
  // path (Batch) that the next rule (Flush, which matches no feature) fills and strokes
  // once per tile, as Leaflet's canvas renderer does with a style's paths: the same look
  // (fill at fillOpacity, outline at opacity, round joins), a fraction of the time.
  function Batch(ld) {
    this.geom = ld.geom;
    this.any = false;
  }
  Batch.prototype.before = function (ctx) { ctx.beginPath(); this.any = false; };
  Batch.prototype.draw = function (ctx, geom) {
    this.any = true;
    for (var r = 0; r < geom.length; r++) {
      var ring = geom[r];
      if (this.geom === "point") {
        for (var p = 0; p < ring.length; p++) {
          ctx.moveTo(ring[p].x + this.radius, ring[p].y);
          ctx.arc(ring[p].x, ring[p].y, this.radius, 0, 2 * Math.PI);
        }
        continue;
      }
      // (A polygon's rings come closed: their last point is their first.)
      ctx.moveTo(ring[0].x, ring[0].y);
      for (var q = 1; q < ring.length; q++) ctx.lineTo(ring[q].x, ring[q].y);
    }
  };

  function Flush(ld, st, batch) {
    var point = ld.geom === "point", line = ld.geom === "line";
    batch.radius = st.radius || 5;
    this.fill = !line && st.fill !== false;
    this.fillColor = st.fillColor || st.color;
    this.fillOpacity = st.fillOpacity === undefined ? (point ? 0.9 : 0.2) : st.fillOpacity;
    this.weight = st.weight === undefined ? (line ? 2 : point ? 0.5 : 1) : st.weight;
    this.color = st.color;
    this.opacity = st.opacity === undefined ? (line ? 0.9 : 1) : st.opacity;
    this.dash = st.dashArray ? String(st.dashArray).split(/[ ,]+/).map(Number) : [];
    this.batch = batch;
  }
  Flush.prototype.before = function (ctx) {
    if (!this.batch.any) return;
    this.batch.any = false;
    if (this.fill) {
      ctx.globalAlpha = this.fillOpacity;
      ctx.fillStyle = this.fillColor;
      ctx.fill();
    }
    if (this.weight > 0 && this.color) {
      ctx.globalAlpha = this.opacity;
      ctx.strokeStyle = this.color;
      ctx.lineWidth = this.weight;
      ctx.lineJoin = "round";
      ctx.lineCap = "round";
      ctx.setLineDash(this.dash);
      ctx.stroke();
    }
    ctx.beginPath();
  };
  Flush.prototype.draw = function () {};

  function never() { return false; }

  // Two rules per class (and for features without data): its features into a path, then
  // that path drawn.
  function paintRules(ld) {
    var t = ld.tiles;
    var styles = ld.styles.map(function (st, k) { return [k, st]; });
    styles.push([-1, ld.noData]);
    var rules = [];
    styles.forEach(function (pair) {
      var k = pair[0], batch = new Batch(ld);
      rules.push({
        dataLayer: t.layer, symbolizer: batch,
        filter: function (z, f) {
          var c = f.props._c === undefined ? -1 : f.props._c;
          return c === k && shownProps(ld, f.props);
        }
      });
      rules.push({ dataLayer: t.layer, symbolizer: new Flush(ld, pair[1], batch), filter: never });
    });
    return rules;
  }

  // A page opened from disk cannot read the tiles: say how to serve it.
  function notice(mapEl, text) {
    var box = el("div", "gm-notice gm-tiles-notice", text);
    box.setAttribute("data-geomap", "tiles-notice");
    mapEl.appendChild(box);
    return box;
  }

  function pageName() {
    var parts = location.pathname.split("/");
    return decodeURIComponent(parts[parts.length - 1] || "index.html");
  }

  function servingHelp(ld) {
    return "「" + ld.title + "」共 " + ld.tiles.count.toLocaleString("zh-CN") +
      " 个要素，存放在地图旁的矢量切片文件中，直接打开本地文件时浏览器无法读取。" +
      "请在图集目录运行：geomap serve ，再用浏览器打开 http://127.0.0.1:8000/" + pageName();
  }

  // The summary grid shown below the full-detail zoom.
  function gridLayer(ld, renderer) {
    var t = ld.tiles;
    var max = Math.max.apply(null, t.gridCounts.concat([1]));
    var colors = t.gridColors;
    function clsOf(n) {
      for (var k = 0; k < t.gridBreaks.length; k++) if (n <= t.gridBreaks[k]) return k;
      return t.gridBreaks.length - 1;
    }
    var grid = L.geoJSON(null, {
      renderer: renderer,
      style: function (f) {
        return { color: "#7f7f7f", weight: 0.3, fillColor: colors[clsOf(f.id)], fillOpacity: 0.7 };
      }
    });
    t.grid.forEach(function (g, i) {
      if (g) grid.addData({ type: "Feature", id: t.gridCounts[i], properties: { name: t.gridNames[i] }, geometry: g });
    });
    grid.bindTooltip(function (layer) {
      var box = el("div", "gm-tooltip");
      var name = layer.feature.properties.name;
      box.appendChild(el("div", "gm-tooltip-title", name !== null ? name : ld.title + " · 汇总网格"));
      box.appendChild(el("div", null, (name !== null ? ld.title : "本格" + ld.tiles.unit) + "数：" +
                         lib.dom.formatValue(layer.feature.id, "个")));
      box.appendChild(el("div", null, "放大到第 " + t.minZoom + " 级查看每个" + ld.tiles.unit));
      return box;
    }, { sticky: true });
    grid.gmMax = max;
    return grid;
  }

  // The legend's note on what is drawn at which zoom, and the grid's classes.
  function legendNote(section, ld) {
    var t = ld.tiles;
    var note = el("div", "gm-legend-note", t.note);
    note.setAttribute("data-geomap", "tiles-note");
    section.appendChild(note);
    var title = el("div", "gm-legend-note", t.gridLegend.title);
    section.appendChild(title);
    t.gridLegend.items.forEach(function (item) {
      var row = el("div", "gm-legend-row");
      var sw = el("span", "gm-swatch gm-swatch-polygon");
      sw.style.background = item.color;
      sw.style.borderColor = item.color;
      row.appendChild(sw);
      row.appendChild(el("span", null, item.label));
      section.appendChild(row);
    });
  }

  function TiledHost(map, ld, state, arbiter, renderer, mapEl) {
    var t = ld.tiles;
    // No archive when the layer is empty (its `where` kept nothing): the grid alone, empty.
    var source = null;
    if (t.url) {
      // The ranges a view asks are read in a few joined requests, past the browser's
      // cache (ranges.js); tiles read stay in protomaps-leaflet's own cache.
      source = new pmtiles.PMTiles(lib.ranges.source(t.url));
    }
    var tiles = !source ? L.layerGroup() : protomapsL.leafletLayer({
      url: source, paintRules: paintRules(ld), labelRules: [], maxDataZoom: t.maxZoom,
      levelDiff: 0, attribution: "", pane: "overlayPane"
    });
    // A page opened from disk cannot read the tiles (browsers refuse file:// fetches): it
    // shows the grid at every zoom and says how to serve the map.
    var readable = location.protocol !== "file:" && !!source;
    var grid = gridLayer(ld, renderer);
    var host = L.layerGroup([]);

    // The tiles from the full-detail zoom up, the grid below it. (Not the tile layer's own
    // minZoom option: Leaflet would make it the whole map's minimum zoom.)
    function sync() {
      var detail = readable && map.getZoom() >= t.minZoom;
      if (!map.hasLayer(host)) return;
      if (detail && !host.hasLayer(tiles)) { host.removeLayer(grid); host.addLayer(tiles); }
      if (!detail && !host.hasLayer(grid)) { host.removeLayer(tiles); host.addLayer(grid); }
    }
    host.on("add", function () { sync(); });
    map.on("zoomend", sync);

    // The feature under a point (the last drawn wins), its fields copied into ld.values.
    function pick(latlng) {
      if (!host.hasLayer(tiles) || !tiles._map) return -1;
      var found = tiles.queryTileFeaturesDebug(latlng.lng, latlng.lat, 4).get("") || [];
      var best = -1;
      found.forEach(function (p) {
        if (p.layerName !== t.layer || !shownProps(ld, p.feature.props)) return;
        var props = p.feature.props;
        ld.fields.forEach(function (_, k) {
          var v = props["f" + k];
          ld.values[k][props._i] = v === undefined ? null : v;
        });
        best = props._i;
      });
      return best;
    }
    var last = -1;
    map.on("mousemove", function (e) {
      if (!map.hasLayer(host)) return;
      var i = pick(e.latlng);
      if (i !== last || i >= 0) arbiter.hover(ld, i);
      last = i;
    });
    map.on("click", function (e) {
      if (!map.hasLayer(host)) return;
      var i = pick(e.latlng);
      if (i >= 0) arbiter.click(ld, i);
    });

    var finder = t.search ? new lib.tileIndex.IndexSearch(t.search) : null;

    // A point inside each feature last listed (featuresInView), in world pixels at zoom z,
    // and its box there: a list row zooms to it and opens its popup without the index.
    var located = { z: 0, at: {} };
    function unproject(x, y) { return map.unproject(L.point(x, y), located.z); }

    // The features shown (filters apply) whose box meets the map's view, read from the tiles
    // of the view at the zoom drawn (protomaps-leaflet's cache, or fetched), their fields
    // copied into ld.values: done({rows: [i, ...]}), in tile order. Below the full-detail
    // zoom, or when the tiles cannot be read: done({below: true}). Always later.
    host.featuresInView = function (done) {
      if (!source || !readable || !host.hasLayer(tiles) || !tiles._map || !tiles.views) {
        var answer = !source ? { rows: [] } : readable ? { below: true } : { unreadable: true };
        Promise.resolve().then(function () { done(answer); });
        return;
      }
      var view = tiles.views.get("");
      var z = Math.min(Math.round(map.getZoom()), t.maxZoom);
      var k = Math.pow(2, z - map.getZoom()), pb = map.getPixelBounds();
      var x0 = pb.min.x * k, y0 = pb.min.y * k, x1 = pb.max.x * k, y1 = pb.max.y * k;
      var last = (1 << z) - 1, wanted = [];
      for (var tx = Math.max(0, Math.floor(x0 / 256)); tx <= Math.min(last, Math.floor(x1 / 256)); tx++) {
        for (var ty = Math.max(0, Math.floor(y0 / 256)); ty <= Math.min(last, Math.floor(y1 / 256)); ty++) {
          wanted.push({ z: z, x: tx, y: ty });
        }
      }
      Promise.all(wanted.map(function (c) { return view.tileCache.get(c); })).then(function (all) {
        var boxes = {}, at = {}, rows = [];
        all.forEach(function (data, n) {
          var ox = wanted[n].x * 256, oy = wanted[n].y * 256;
          (data.get(t.layer) || []).forEach(function (f) {
            var b = f.bbox, i = f.props._i;
            var fx0 = ox + b.minX, fy0 = oy + b.minY, fx1 = ox + b.maxX, fy1 = oy + b.maxY;
            // The piece of a feature in one tile lies inside the feature, and the pieces in
            // the view's tiles cover its part in the view: their boxes' union meets the view
            // exactly when the feature's box does.
            var box = boxes[i];
            if (box) {
              box[0] = Math.min(box[0], fx0); box[1] = Math.min(box[1], fy0);
              box[2] = Math.max(box[2], fx1); box[3] = Math.max(box[3], fy1);
              return;
            }
            if (!shownProps(ld, f.props)) return;
            boxes[i] = [fx0, fy0, fx1, fy1];
            at[i] = { f: f, ox: ox, oy: oy };
            rows.push(i);
          });
        });
        ld.fields.forEach(function (_, k) { ld.values[k] = []; });
        var inView = [], where = {};
        rows.forEach(function (i) {
          var box = boxes[i];
          if (box[2] < x0 || box[0] > x1 || box[3] < y0 || box[1] > y1) return;
          var props = at[i].f.props;
          ld.fields.forEach(function (_, k) {
            var v = props["f" + k];
            ld.values[k][i] = v === undefined ? null : v;
          });
          where[i] = { box: box, piece: at[i] };
          inView.push(i);
        });
        located = { z: z, at: where };
        done({ rows: inView });
      }, function () { done({ rows: [] }); });
    };

    // A point inside feature i as listed: on its tile piece, the middle of the widest span
    // of the horizontal line through the piece's box (a polygon), its middle vertex (a
    // line) or the point itself.
    function insidePoint(piece) {
      var f = piece.f, rings = f.geom;
      if (f.geomType === 3) {
        var y = (f.bbox.minY + f.bbox.maxY) / 2, xs = [];
        rings.forEach(function (ring) {
          for (var a = 0; a < ring.length; a++) {
            var p = ring[a], q = ring[(a + 1) % ring.length];
            if ((p.y > y) !== (q.y > y)) xs.push(p.x + (y - p.y) * (q.x - p.x) / (q.y - p.y));
          }
        });
        xs.sort(function (a, b) { return a - b; });
        var best = -1, mid = (f.bbox.minX + f.bbox.maxX) / 2;
        for (var s = 0; s + 1 < xs.length; s += 2) {
          if (xs[s + 1] - xs[s] > best) { best = xs[s + 1] - xs[s]; mid = (xs[s] + xs[s + 1]) / 2; }
        }
        return [piece.ox + mid, piece.oy + y];
      }
      var line = rings[0], v = line[Math.floor(line.length / 2)];
      return [piece.ox + v.x, piece.oy + v.y];
    }

    host.restyle = function () { if (tiles._map) tiles.rerenderTiles(); };
    host.hitAt = function (latlng) { return pick(latlng); };
    // The search (IndexSearch): done(results), up to limit features whose name holds
    // query, [{i, name}] in feature order, their points kept for pointOf; found(more) as
    // they are found, if given. A new search drops the one before (no more calls).
    // (From disk the index cannot be read either: done([], {unreadable: true}).)
    host.search = function (query, limit, done, found) {
      if (!finder || !readable) {
        var error = finder ? { unreadable: true } : undefined;
        Promise.resolve().then(function () { done([], error); });
        return;
      }
      finder.search(query, limit, done, found);
    };
    host.searchStreamed = function () { return !!finder && finder.streamed(); };
    // done() once a point inside feature i is known to pointOf (read from the index).
    host.locate = function (i, done) {
      if (!finder) { Promise.resolve().then(done); return; }
      finder.locate(i, done);
    };
    // A point inside feature i and a box that a search or a list row zooms to: from the
    // last listing when it held i, else from the search index (a search's result, or a
    // feature located), a box of 60 m around the point; null when neither knows it.
    host.pointOf = function (i) {
      var w = located.at[i];
      if (w) {
        if (!w.point) w.point = insidePoint(w.piece);
        return unproject(w.point[0], w.point[1]);
      }
      var p = finder && finder.pointOf(i);
      return p ? L.latLng(p[1], p[0]) : null;
    };
    host.boundsOf = function (i) {
      var w = located.at[i];
      if (w) return L.latLngBounds(unproject(w.box[0], w.box[3]), unproject(w.box[2], w.box[1]));
      var p = host.pointOf(i);
      return p ? p.toBounds(60) : null;
    };
    // Call done() once feature i's fields are read from its tile (after a search zoomed in).
    host.withFeature = function (i, done) {
      var tries = 0;
      function attempt() {
        var p = host.pointOf(i);
        if ((p && pick(p) === i) || ld.values[0][i] !== undefined) { done(); return; }
        if (++tries < 40) setTimeout(attempt, 100);
      }
      attempt();
    };
    host.tiles = tiles;
    host.grid = grid;
    host.source = source;

    if (!source) {
      // nothing to read, nothing to say
    } else if (!readable) {
      notice(mapEl, servingHelp(ld));
    } else {
      source.getHeader().catch(function () {
        notice(mapEl, "矢量切片无法读取（" + t.url + "）：需要支持 Range 请求的服务器。" +
               "请在图集目录运行 geomap serve。");
      });
    }
    return host;
  }

  function addTiledLayer(map, ld, state, arbiter, legend, renderer) {
    var mapEl = map.getContainer();
    var host = TiledHost(map, ld, state, arbiter, renderer, mapEl);
    var entry = { data: ld, geo: null, host: host, count: ld.tiles.count, labels: null,
                  legend: legend.add(ld), byIndex: {} };
    legendNote(entry.legend, ld);
    state.layers[ld.id] = entry;
    if (ld.show) host.addTo(map);
    return host;
  }

  lib.tiles = { addTiledLayer: addTiledLayer, shownProps: shownProps };
})(window.geomap.lib);
