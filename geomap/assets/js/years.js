/* geomap client: years. A layer with `views` (an indicator over several years, see
 * geomap/years.py) gets a year switch, a <select data-geomap="year">; a view brings its own
 * classes, styles, legend and tooltip fields (the breaks are shared by all years, so the
 * colours compare). Popups of such a layer carry a small chart of the indicator over the
 * years, drawn as inline SVG with every text set through textContent.
 */
(function (lib) {
  "use strict";
  var el = lib.dom.el;
  var SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  // Bars of feature i's values over the years, labelled with year and value.
  function chart(ld, i) {
    var s = ld.series, n = s.years.length;
    var vals = s.fields.map(function (f) {
      var v = ld.values[f][i];
      return typeof v === "number" && isFinite(v) ? v : null;
    });
    var box = el("div", "gm-chart");
    box.appendChild(el("div", "gm-chart-title", s.label + (s.unit ? "（" + s.unit + "）" : "")));
    var W = 60 * n + 20, H = 110, top = 18, base = 88;
    var max = 0;
    vals.forEach(function (v) { if (v !== null) max = Math.max(max, Math.abs(v)); });
    var root = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H,
                            role: "img", "aria-label": s.label });
    root.appendChild(svg("line", { x1: 8, y1: base, x2: W - 8, y2: base, stroke: "#999" }));
    vals.forEach(function (v, k) {
      var x = 16 + k * 60;
      if (v !== null && max > 0) {
        var h = Math.abs(v) / max * (base - top);
        root.appendChild(svg("rect", { x: x, y: base - h, width: 36, height: Math.max(h, 1),
                                       fill: k === n - 1 ? "#31a354" : "#a1d99b" }));
      }
      root.appendChild(svg("text", { x: x + 18, y: base - 4 - (v !== null && max > 0 ? Math.abs(v) / max * (base - top) : 0),
                                     "text-anchor": "middle", "font-size": 11 },
                           lib.dom.formatValue(v, null)));
      root.appendChild(svg("text", { x: x + 18, y: base + 15, "text-anchor": "middle",
                                     "font-size": 11, fill: "#555" }, s.years[k] + "年"));
    });
    box.appendChild(root);
    return box;
  }

  function setView(map, state, entry, k, legend, filters) {
    var ld = entry.data, v = ld.views[k];
    var sameClasses = v.styles.length === ld.styles.length;
    ld.view = k;
    ld.cls = v.cls;
    ld.styles = v.styles;
    ld.noData = v.noData;
    ld.legend = v.legend;
    ld.tooltip = v.tooltip;
    if (!sameClasses && ld.filter) ld.filter.off = {};
    if (entry.host.reorder) {
      entry.host.reorder(); // filters.apply below redraws it once
    } else {
      entry.geo.eachLayer(function (layer) { layer.setStyle(entry.styleOf(layer.gmIndex)); });
    }
    if (entry.legend) legend.fill(entry.legend, ld);
    filters.apply(entry);
  }

  // One switch per layer with views; returns the switches.
  function build(map, state, legend, filters) {
    var box = el("div", "gm-years");
    var any = false;
    state.layerList.forEach(function (entry) {
      var ld = entry.data;
      if (!ld.views) return;
      any = true;
      var label = el("label", "gm-year-label", ld.title + "：");
      var select = el("select");
      select.setAttribute("data-geomap", "year");
      select.setAttribute("data-layer", ld.id);
      select.setAttribute("aria-label", ld.title + " 年份");
      ld.views.forEach(function (v, k) {
        var opt = el("option", null, v.label);
        opt.value = String(k);
        var m = /^(\d{4})年$/.exec(v.label);
        if (m) opt.setAttribute("data-year", m[1]);
        select.appendChild(opt);
      });
      select.value = String(ld.view);
      select.addEventListener("change", function () {
        setView(map, state, entry, Number(select.value), legend, filters);
      });
      label.appendChild(select);
      box.appendChild(label);
    });
    if (!any) return;
    L.DomEvent.disableClickPropagation(box);
    var Years = L.Control.extend({ onAdd: function () { return box; } });
    new Years({ position: "topleft" }).addTo(map);
  }

  lib.years = { build: build, chart: chart, setView: setView };
})(window.geomap.lib);
