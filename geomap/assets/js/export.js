/* geomap client: the printed sheet of `geomap export` (see geomap/sheet.py and
 * geomap/export.py). Python computes the layout, the view and where every name goes; this
 * draws it: a title band, the map in its frame, a panel with the legend and the table of
 * numbered callouts, a footer band. Cover and index pages of a `--each` atlas are sheets
 * without a map. Every text comes in as data and is set with textContent.
 */
(function (lib) {
  "use strict";
  var el = lib.dom.el;
  var formatValue = lib.dom.formatValue;
  var basisMark = lib.dom.basisMark;

  function place(node, b) {
    node.style.left = b.x + "px";
    node.style.top = b.y + "px";
    node.style.width = b.w + "px";
    node.style.height = b.h + "px";
  }

  function px(v) { return v + "px"; }

  // The sheet's fixed parts, made once and refilled for every page.
  function parts(state) {
    if (state.sheet) return state.sheet;
    var map = state.map;
    var mapEl = map.getContainer();
    var root = el("div", "gm-sheet");
    var s = {
      root: root,
      mapEl: mapEl,
      title: el("div", "gm-sheet-title"),
      panel: el("div", "gm-sheet-panel"),
      footer: el("div", "gm-sheet-footer"),
      overlay: el("div", "gm-sheet-overlay"),
      doc: el("div", "gm-sheet-doc"),
      legend: document.querySelector(".gm-legend"),
      focus: null
    };
    [s.title, s.panel, s.footer, s.overlay, s.doc].forEach(function (n) { root.appendChild(n); });
    document.body.appendChild(root);
    document.body.classList.add("gm-export", "gm-sheet-mode");
    mapEl.classList.add("gm-sheet-frame");
    map.options.zoomSnap = 0;
    if (map.attributionControl) map.attributionControl.setPrefix(false);
    state.sheet = s;
    return s;
  }

  function buildTitle(s, d) {
    var t = s.title;
    while (t.firstChild) t.removeChild(t.firstChild);
    t.appendChild(el("h1", null, d.title));
    var line = el("div", "gm-sheet-subtitle");
    if (d.subtitle) line.appendChild(el("span", null, d.subtitle));
    if (d.illustrative) line.appendChild(el("span", "gm-badge", "示意数据"));
    t.appendChild(line);
  }

  function buildFooter(s, d) {
    var f = s.footer;
    while (f.firstChild) f.removeChild(f.firstChild);
    (d.footer || []).forEach(function (text) { f.appendChild(el("div", null, text)); });
    f.appendChild(el("div", "gm-date", "制图日期：" + d.date));
  }

  // A table of feature i's fields (indices into the layer's fields).
  function factsTable(ld, i, fields) {
    var table = el("table", "gm-sheet-facts");
    fields.forEach(function (f) {
      var tr = el("tr");
      var value = ld.values[f][i];
      tr.appendChild(el("th", null, ld.fields[f].label));
      var td = el("td", null, formatValue(value, ld.fields[f].unit));
      var mark = value === null || value === undefined || value === "" ? null
        : basisMark(ld.fields[f].basis);
      if (mark) td.appendChild(mark);
      tr.appendChild(td);
      table.appendChild(tr);
    });
    return table;
  }

  // A table column's heading: label, unit, and the 示意 mark when its values are illustrative.
  function columnHead(field) {
    var th = el("th", null, field.label + (field.unit ? "（" + field.unit + "）" : ""));
    var mark = basisMark(field.basis);
    if (mark) th.appendChild(mark);
    return th;
  }

  function nameOf(ld, i) {
    if (ld.name < 0) return "";
    var v = ld.values[ld.name][i];
    return v === null || v === undefined ? "" : String(v);
  }

  // Numbered callouts → name and key figures, one group per layer.
  function calloutTable(state, groups) {
    var box = el("div", "gm-sheet-callouts");
    groups.forEach(function (g) {
      var ld = state.layers[g.layer].data;
      var table = el("table", "gm-sheet-table");
      var cap = el("caption", null, ld.title);
      table.appendChild(cap);
      var head = el("tr");
      head.appendChild(el("th", "gm-sheet-n", "编号"));
      head.appendChild(el("th", null, "名称"));
      g.fields.forEach(function (f) { head.appendChild(columnHead(ld.fields[f])); });
      table.appendChild(head);
      g.rows.forEach(function (row) {
        var tr = el("tr");
        tr.appendChild(el("td", "gm-sheet-n", row[0]));
        tr.appendChild(el("td", null, nameOf(ld, row[1])));
        g.fields.forEach(function (f) {
          tr.appendChild(el("td", null, formatValue(ld.values[f][row[1]], null)));
        });
        table.appendChild(tr);
      });
      box.appendChild(table);
    });
    return box;
  }

  function buildPanel(state, s, d) {
    var p = s.panel;
    while (p.firstChild) p.removeChild(p.firstChild);
    p.className = "gm-sheet-panel gm-sheet-panel-" + d.layout.panelSide;
    p.style.fontSize = px(d.layout.fontPx);
    if (d.facts) {
      var ld = state.layers[d.facts.layer].data;
      var facts = el("div", "gm-sheet-section");
      facts.appendChild(el("div", "gm-sheet-heading", nameOf(ld, d.facts.i) || ld.title));
      facts.appendChild(factsTable(ld, d.facts.i, d.facts.fields));
      p.appendChild(facts);
    }
    if (s.legend) {
      Object.keys(state.layers).forEach(function (id) {
        var e = state.layers[id];
        if (e.legend) e.legend.style.display = state.map.hasLayer(e.host) ? "" : "none";
      });
      s.legend.style.display = "";
      p.appendChild(s.legend);
    }
    if (d.table && d.table.length) p.appendChild(calloutTable(state, d.table));
    if (d.description) p.appendChild(el("div", "gm-sheet-description", d.description));
    // Shrink the panel's type until everything fits (down to 6 px); say if it still does not.
    var size = d.layout.fontPx;
    function overflows() { return p.scrollHeight > p.clientHeight + 1 || p.scrollWidth > p.clientWidth + 1; }
    while (overflows() && size > 6) {
      size -= 0.5;
      p.style.fontSize = px(size);
    }
    return !overflows();
  }

  function clearOverlay(s) {
    while (s.overlay.firstChild) s.overlay.removeChild(s.overlay.firstChild);
  }

  function buildOverlay(s, d) {
    var o = s.overlay;
    clearOverlay(s);
    place(o, d.layout.frame);
    var svgNS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("class", "gm-sheet-leaders");
    svg.setAttribute("width", String(d.layout.frame.w));
    svg.setAttribute("height", String(d.layout.frame.h));
    o.appendChild(svg);
    d.labels.forEach(function (lb) {
      var span = el("span", "gm-sheet-label", lb.text);
      span.style.left = px(lb.x);
      span.style.top = px(lb.y);
      span.style.fontSize = px(d.layout.fontPx);
      span.style.transform = "translate(-50%, -50%) rotate(" + lb.angle + "deg)";
      o.appendChild(span);
    });
    d.callouts.forEach(function (c) {
      if (Math.abs(c.x - c.ax) + Math.abs(c.y - c.ay) > 1) {
        var line = document.createElementNS(svgNS, "line");
        line.setAttribute("x1", String(c.ax));
        line.setAttribute("y1", String(c.ay));
        line.setAttribute("x2", String(c.x));
        line.setAttribute("y2", String(c.y));
        svg.appendChild(line);
        var dot = document.createElementNS(svgNS, "circle");
        dot.setAttribute("cx", String(c.ax));
        dot.setAttribute("cy", String(c.ay));
        dot.setAttribute("r", "1.6");
        svg.appendChild(dot);
      }
      var disc = el("span", "gm-sheet-callout", c.n);
      disc.style.left = px(c.x);
      disc.style.top = px(c.y);
      o.appendChild(disc);
    });
    var arrow = el("div", "gm-north");
    arrow.appendChild(el("div", "gm-north-arrow", "▲"));
    arrow.appendChild(el("div", "gm-north-n", "N"));
    o.appendChild(arrow);
  }

  // The feature a --each page is about: everything outside it dimmed, its outline drawn.
  function setFocus(state, s, focus) {
    var map = state.map;
    if (s.focus) { s.focus.forEach(function (l) { map.removeLayer(l); }); s.focus = null; }
    if (!focus) return;
    if (!map.getPane("gmFocus")) {
      var pane = map.createPane("gmFocus");
      pane.style.zIndex = 450;
      pane.style.pointerEvents = "none";
    }
    var ld = state.layers[focus.layer].data;
    var geom = ld.geoms[focus.i];
    var polys = geom.type === "Polygon" ? [geom.coordinates]
      : geom.type === "MultiPolygon" ? geom.coordinates : [];
    var rings = [[[-89, -360], [89, -360], [89, 360], [-89, 360]]];
    polys.forEach(function (poly) {
      poly.forEach(function (ring) {
        rings.push(ring.map(function (c) { return [c[1], c[0]]; }));
      });
    });
    var renderer = L.svg({ pane: "gmFocus", padding: 1 });
    // A polygon is cut out of the veil; a line or point is drawn again above it.
    var mask = L.polygon(rings, { renderer: renderer, pane: "gmFocus", stroke: false,
                                  fillColor: "#ffffff", fillOpacity: polys.length ? 0.72 : 0.55,
                                  interactive: false });
    var outline = L.geoJSON(geom, {
      renderer: renderer, pane: "gmFocus", interactive: false,
      style: function (f) {
        var point = /Point$/.test(f.geometry.type);
        return { color: "#111111", weight: polys.length || point ? 2.5 : 4, fill: point,
                 fillColor: "#d7301f", fillOpacity: 0.9 };
      },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { renderer: renderer, pane: "gmFocus", radius: 7 });
      }
    });
    s.focus = [mask.addTo(map), outline.addTo(map)];
  }

  // Basemap tiles: how many loaded and failed (to tell an offline export).
  function tiles() {
    var all = document.querySelectorAll(".leaflet-tile");
    var loaded = document.querySelectorAll(".leaflet-tile-loaded").length;
    return { total: all.length, loaded: loaded };
  }

  // No tiles could be loaded: drop them, and their credit, and print on a plain background.
  function dropBasemap(state, s) {
    var map = state.map;
    map.eachLayer(function (layer) { if (layer instanceof L.TileLayer) map.removeLayer(layer); });
    if (map.attributionControl) map.attributionControl.remove();
    s.mapEl.classList.add("gm-no-basemap");
    var notice = document.querySelector(".gm-notice");
    if (notice) notice.style.display = "none";
  }

  function buildDoc(s, d) {
    var doc = s.doc;
    while (doc.firstChild) doc.removeChild(doc.firstChild);
    place(doc, { x: d.layout.frame.x, y: d.layout.frame.y,
                 w: d.layout.width - 2 * d.layout.frame.x,
                 h: d.layout.footer.y - d.layout.frame.y });
    doc.style.fontSize = px(d.layout.fontPx * 1.1);
    if (d.kind === "cover") {
      doc.appendChild(el("div", "gm-sheet-cover-kicker", d.kicker));
      doc.appendChild(el("div", "gm-sheet-cover-title", d.coverTitle));
      (d.lines || []).forEach(function (t) { doc.appendChild(el("div", "gm-sheet-cover-line", t)); });
      return;
    }
    var ld = d.index.layer;
    var table = el("table", "gm-sheet-table gm-sheet-index");
    var head = el("tr");
    head.appendChild(el("th", "gm-sheet-n", "页码"));
    head.appendChild(el("th", null, "名称"));
    d.index.fields.forEach(function (f) { head.appendChild(columnHead(ld.fields[f])); });
    table.appendChild(head);
    d.index.rows.forEach(function (row) {
      var tr = el("tr");
      tr.appendChild(el("td", "gm-sheet-n", row[0]));
      tr.appendChild(el("td", null, nameOf(ld, row[1]) || "（未命名）"));
      d.index.fields.forEach(function (f) {
        tr.appendChild(el("td", null, formatValue(ld.values[f][row[1]], null)));
      });
      table.appendChild(tr);
    });
    doc.appendChild(table);
  }

  // Lay the page out as sheet d (kind "map", "cover" or "index"); returns what Python checks.
  function apply(state, d) {
    var s = parts(state);
    var map = state.map;
    place(s.root, { x: 0, y: 0, w: d.layout.width, h: d.layout.height });
    s.root.style.fontSize = px(d.layout.fontPx);
    place(s.title, d.layout.title);
    place(s.footer, d.layout.footer);
    buildTitle(s, d);
    buildFooter(s, d);
    if (d.offline) dropBasemap(state, s);
    var isMap = d.kind === "map";
    s.mapEl.style.visibility = isMap ? "visible" : "hidden";
    s.overlay.style.display = isMap ? "" : "none";
    s.panel.style.display = isMap ? "" : "none";
    s.doc.style.display = isMap ? "none" : "";
    if (!isMap) {
      if (d.kind === "index") d.index.layer = state.layers[d.index.layerId].data;
      buildDoc(s, d);
      return { panelFits: true };
    }
    s.mapEl.style.position = "absolute";
    place(s.mapEl, d.layout.frame);
    place(s.panel, d.layout.panel);
    map.invalidateSize({ animate: false, pan: false });
    map.setView([d.view.lat, d.view.lon], d.view.zoom, { animate: false });
    setFocus(state, s, d.focus);
    buildOverlay(s, d);
    var fits = buildPanel(state, s, d);
    var sw = map.latLngToContainerPoint(L.latLng(d.check[1], d.check[0]));
    return { panelFits: fits, zoom: map.getZoom(), check: [sw.x, sw.y] };
  }

  // geomap.exportMode(sheet) and geomap.sheetTiles() of a built page.
  function create(state) {
    return { apply: function (d) { return apply(state, d); }, tiles: tiles };
  }

  lib.exportMode = { create: create };
})(window.geomap.lib);
