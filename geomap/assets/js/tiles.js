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

  function symbolizer(ld, st) {
    if (ld.geom === "point") {
      return new protomapsL.CircleSymbolizer({
        radius: st.radius || 5, fill: st.fillColor || st.color, stroke: st.color,
        width: st.weight || 0.5, opacity: st.fillOpacity === undefined ? 0.9 : st.fillOpacity
      });
    }
    if (ld.geom === "line") {
      return new protomapsL.LineSymbolizer({
        color: st.color, width: st.weight || 2, opacity: st.opacity === undefined ? 0.9 : st.opacity
      });
    }
    return new protomapsL.PolygonSymbolizer({
      fill: st.fill === false ? "rgba(0,0,0,0)" : st.fillColor,
      opacity: st.fill === false ? 1 : st.fillOpacity,
      stroke: st.color, width: st.weight === undefined ? 1 : st.weight
    });
  }

  // One paint rule per class (and one for features without data): a constant style each,
  // so protomaps-leaflet batches the drawing.
  function paintRules(ld) {
    var t = ld.tiles;
    var styles = ld.styles.map(function (st, k) { return [k, st]; });
    styles.push([-1, ld.noData]);
    var rules = [];
    styles.forEach(function (pair) {
      var k = pair[0], sym = symbolizer(ld, pair[1]);
      rules.push({
        dataLayer: t.layer, symbolizer: sym,
        filter: function (z, f) {
          var c = f.props._c === undefined ? -1 : f.props._c;
          return c === k && shownProps(ld, f.props);
        }
      });
      // An outlined polygon keeps its outline when its class has a line of its own.
      if (ld.geom === "polygon" && pair[1].weight !== 0) {
        rules.push({
          dataLayer: t.layer,
          symbolizer: new protomapsL.LineSymbolizer({ color: pair[1].color,
            width: pair[1].weight === undefined ? 1 : pair[1].weight, opacity: pair[1].opacity || 0.9 }),
          filter: rules[rules.length - 1].filter
        });
      }
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
    var source = t.url ? new pmtiles.PMTiles(t.url) : null;
    var tiles = !source ? L.layerGroup() : protomapsL.leafletLayer({
      url: source, paintRules: paintRules(ld), labelRules: [], maxDataZoom: t.maxZoom,
      levelDiff: 0, attribution: "", pane: "overlayPane"
    });
    // A page opened from disk cannot read the tiles (browsers refuse file:// fetches): it
    // shows the grid at every zoom and says how to serve the map.
    var readable = location.protocol !== "file:" && !!source;
    var grid = gridLayer(ld, renderer);
    var host = L.layerGroup([]);
    var index = null, loading = null;

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

    // The search index (names, a point inside each feature), fetched once.
    function loadIndex(done) {
      // Always later, never inside the caller's own event handler.
      if (index) { Promise.resolve(index).then(done); return; }
      if (!t.search) { index = { names: [], points: [], x0: 0, y0: 0, scale: 1 }; }
      if (index) { Promise.resolve(index).then(done); return; }
      if (!loading) {
        loading = fetch(t.search)
          .then(function (r) {
            // The index is gzip (search.json.gz): inflated here, as no server says so.
            return new Response(r.body.pipeThrough(new DecompressionStream("gzip"))).json();
          })
          .then(function (data) { index = data; return data; });
      }
      loading.then(done, function () {});
    }

    host.restyle = function () { if (tiles._map) tiles.rerenderTiles(); };
    host.hitAt = function (latlng) { return pick(latlng); };
    host.searchNames = function (done) { loadIndex(function (d) { done(d.names); }); };
    // A point inside feature i (from the search index, which must be loaded), and a box
    // of 60 m around it that a search zooms to.
    host.pointOf = function (i) {
      return L.latLng(index.y0 + index.points[2 * i + 1] / index.scale,
                      index.x0 + index.points[2 * i] / index.scale);
    };
    host.boundsOf = function (i) { return host.pointOf(i).toBounds(60); };
    // Call done() once feature i's fields are read from its tile (after a search zoomed in).
    host.withFeature = function (i, done) {
      var tries = 0;
      function attempt() {
        if (pick(host.pointOf(i)) === i || ld.values[0][i] !== undefined) { done(); return; }
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
