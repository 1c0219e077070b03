/* geomap client: builds the map from the JSON data block.
 *
 * Every string from data reaches the page through textContent (or escapeHtml where Leaflet
 * insists on HTML, as in the layer control), never through innerHTML, so nothing in a layer
 * can run script. Styles arrive precomputed: one class index per feature and a short list of
 * style objects, so styling 100k features costs an array lookup each.
 */
(function () {
  "use strict";

  function escapeHtml(text) {
    return String(text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function formatValue(value, unit) {
    if (value === null || value === undefined || value === "") return "—";
    var text = typeof value === "number"
      // Group digits only from 10,000 up, so years and codes such as 2022 read as written.
      ? value.toLocaleString("zh-CN", { maximumFractionDigits: 2, useGrouping: Math.abs(value) >= 10000 })
      : String(value);
    return unit ? text + " " + unit : text;
  }

  function recordTable(layerData, i, fieldIdx) {
    var table = el("table", "gm-record");
    fieldIdx.forEach(function (f) {
      var field = layerData.fields[f];
      var tr = el("tr");
      tr.appendChild(el("th", null, field.label));
      tr.appendChild(el("td", null, formatValue(layerData.values[f][i], field.unit)));
      table.appendChild(tr);
    });
    return table;
  }

  function featureName(layerData, i) {
    if (layerData.name < 0) return null;
    var v = layerData.values[layerData.name][i];
    return v === null || v === undefined ? null : String(v);
  }

  function tooltipContent(ld, i) {
    var box = el("div", "gm-tooltip");
    var name = featureName(ld, i);
    box.appendChild(el("div", "gm-tooltip-title", name !== null ? name : ld.title));
    box.appendChild(recordTable(ld, i, ld.tooltip));
    return box;
  }

  function popupContent(ld, i) {
    var box = el("div", "gm-popup");
    box.appendChild(el("div", "gm-popup-layer", ld.title));
    var name = featureName(ld, i);
    if (name !== null) box.appendChild(el("h3", null, name));
    box.appendChild(recordTable(ld, i, ld.popup));
    return box;
  }

  function swatch(shape, color, opacity) {
    var s = el("span", "gm-swatch gm-swatch-" + shape);
    s.style.background = shape === "line" ? "transparent" : color;
    s.style.borderColor = color;
    // The swatch shows the colour as the map does: filled areas are drawn translucent.
    if (shape === "polygon" && opacity !== undefined) s.style.opacity = String(Math.max(opacity, 0.35));
    return s;
  }

  function buildMap(data) {
    var mapEl = document.getElementById(data.mapId);
    var map = window[data.mapVar];
    var state = { map: map, layers: {}, baseLoaded: false };
    window.geomap = state;
    // folium gives only tile layers a maxZoom; markercluster needs the map's (no basemap).
    map.setMaxZoom(data.maxZoom);
    if (data.basemaps.length === 0) mapEl.classList.add("gm-no-basemap");

    // -- basemaps -----------------------------------------------------------------------
    // Arrays, not objects keyed by title: titles such as __proto__ or two layers with one
    // title must not lose a layer.
    var baseLayers = [];
    var notice = el("div", "gm-notice", "底图无法加载（网络受限或离线），矢量数据不受影响。");
    notice.style.display = "none";
    mapEl.appendChild(notice);
    data.basemaps.forEach(function (b, i) {
      var opts = { attribution: b.attribution, maxZoom: data.maxZoom, maxNativeZoom: b.maxZoom };
      if (b.subdomains) opts.subdomains = b.subdomains;
      var tiles = L.tileLayer(b.url, opts);
      tiles.on("tileerror", function () {
        if (!state.baseLoaded) notice.style.display = "block";
      });
      tiles.on("tileload", function () {
        state.baseLoaded = true;
        notice.style.display = "none";
      });
      var group = b.overlayUrl ? L.layerGroup([tiles, L.tileLayer(b.overlayUrl, opts)]) : tiles;
      baseLayers.push([group, escapeHtml(b.title)]);
      if (i === 0) group.addTo(map);
    });

    // -- one tooltip and one popup for the whole map -------------------------------------
    // Every layer reports the feature under the mouse; after all of a mouse event's handlers
    // have run, only the topmost layer's feature (the last in the spec) gets a tooltip or
    // popup, so a house drawn over its village shows the house alone.
    var arbiter = (function () {
      var hovered = {}, clicked = [], pending = false, shown = null, lastLatLng = null;
      var tip = L.tooltip({ sticky: true, direction: "auto", opacity: 0.95 });
      function topmost(hits) {
        var best = null;
        hits.forEach(function (h) { if (!best || h.order > best.order) best = h; });
        return best;
      }
      function settle() {
        pending = false;
        var hits = [];
        Object.keys(hovered).forEach(function (id) {
          var h = hovered[id];
          if (h.i >= 0 && map.hasLayer(state.layers[id].host)) hits.push(h);
        });
        var top = topmost(hits);
        if (!top || !lastLatLng) {
          shown = null;
          map.closeTooltip(tip);
          map.getContainer().style.cursor = "";
        } else {
          var key = top.ld.id + ":" + top.i;
          if (key !== shown) { tip.setContent(tooltipContent(top.ld, top.i)); shown = key; }
          tip.setLatLng(lastLatLng);
          if (!map.hasLayer(tip)) map.openTooltip(tip);
          map.getContainer().style.cursor = "pointer";
        }
        var click = topmost(clicked);
        clicked = [];
        if (click && click.ld.popup.length && lastLatLng) {
          L.popup({ maxWidth: 360 }).setLatLng(lastLatLng)
            .setContent(popupContent(click.ld, click.i)).openOn(map);
        }
      }
      function later() {
        if (!pending) { pending = true; Promise.resolve().then(settle); }
      }
      map.on("mousemove click", function (e) { lastLatLng = e.latlng; later(); });
      map.on("mouseout", function () { hovered = {}; later(); });
      return {
        hover: function (ld, i) { hovered[ld.id] = { ld: ld, i: i, order: ld.order }; later(); },
        click: function (ld, i) { clicked.push({ ld: ld, i: i, order: ld.order }); later(); }
      };
    })();

    // -- vector layers ------------------------------------------------------------------
    var renderer = L.canvas({ padding: 0.5, tolerance: 4 });
    var overlays = [];
    var legendBox = el("div", "gm-legend");
    data.layers.forEach(function (ld, order) {
      ld.order = order;
      if (ld.fast) {
        var fast = new window.GeomapFastLayer(ld, {
          hover: function (i) { arbiter.hover(ld, i); },
          click: function (i) { arbiter.click(ld, i); }
        });
        var fastEntry = { data: ld, geo: null, host: fast, count: fast.fast.present,
                          labels: null, legend: addLegend(ld), byIndex: {} };
        state.layers[ld.id] = fastEntry;
        overlays.push([fast, escapeHtml(ld.title)]);
        if (ld.show) fast.addTo(map);
        return;
      }
      var styles = ld.styles;
      var noData = ld.noData;
      function styleOf(i) {
        var c = ld.cls[i];
        return c >= 0 ? styles[c] : noData;
      }
      var geo = L.geoJSON(null, {
        renderer: renderer,
        style: function (f) { return styleOf(f.id); },
        pointToLayer: function (f, latlng) {
          var s = styleOf(f.id);
          return L.circleMarker(latlng, Object.assign({ renderer: renderer }, s));
        },
        onEachFeature: function (f, layer) { layer.gmIndex = f.id; }
      });
      // Points are drawn in class order, so the classes listed last (e.g. C and D ratings)
      // sit on top; polygons and lines keep their order.
      var drawOrder = ld.geoms.map(function (_, i) { return i; });
      if (ld.geom === "point") drawOrder.sort(function (a, b) { return (ld.cls[a] - ld.cls[b]) || (a - b); });
      drawOrder.forEach(function (i) {
        var g = ld.geoms[i];
        if (g) geo.addData({ type: "Feature", id: i, properties: null, geometry: g });
      });
      var host = geo;
      if (ld.cluster && L.markerClusterGroup) {
        host = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false });
        host.addLayer(geo);
      }
      // A cluster icon is no feature: only features (with a gmIndex) report hovers and clicks.
      function featureOf(e) {
        var i = (e.propagatedFrom || e.layer || {}).gmIndex;
        return typeof i === "number" ? i : -1;
      }
      host.on("mouseover", function (e) { arbiter.hover(ld, featureOf(e)); });
      host.on("mouseout", function () { arbiter.hover(ld, -1); });
      host.on("click", function (e) { if (featureOf(e) >= 0) arbiter.click(ld, featureOf(e)); });
      var entry = { data: ld, geo: geo, host: host, count: geo.getLayers().length,
                    labels: null, legend: null, byIndex: {} };
      geo.eachLayer(function (layer) { entry.byIndex[layer.gmIndex] = layer; });
      state.layers[ld.id] = entry;
      overlays.push([host, escapeHtml(ld.title)]);

      entry.legend = addLegend(ld);
      if (ld.labelAt) entry.labels = L.layerGroup();
      if (ld.show) host.addTo(map);
    });

    // -- labels at zooms where they fit --------------------------------------------------
    function updateLabels() {
      Object.keys(state.layers).forEach(function (id) {
        var entry = state.layers[id];
        if (!entry.labels) return;
        entry.labels.clearLayers();
        if (!map.hasLayer(entry.host)) { map.removeLayer(entry.labels); return; }
        var view = map.getBounds();
        entry.geo.eachLayer(function (layer) {
          var i = layer.gmIndex;
          var name = featureName(entry.data, i);
          var at = entry.data.labelAt[i];
          if (!name || !at || !view.contains(at)) return;
          var b = layer.getBounds();
          var width = map.latLngToContainerPoint(b.getNorthEast()).x -
                      map.latLngToContainerPoint(b.getSouthWest()).x;
          if (width < name.length * 13 + 10) return;
          var html = el("span", null, name);
          entry.labels.addLayer(L.marker(at, {
            interactive: false, keyboard: false,
            icon: L.divIcon({ className: "gm-label", html: html, iconSize: null })
          }));
        });
        entry.labels.addTo(map);
      });
    }

    function updateLegend() {
      var any = false;
      Object.keys(state.layers).forEach(function (id) {
        var entry = state.layers[id];
        if (!entry.legend) return;
        var on = map.hasLayer(entry.host);
        entry.legend.style.display = on ? "" : "none";
        any = any || on;
      });
      legendBox.style.display = any ? "" : "none";
    }

    function addLegend(ld) {
      if (!ld.legend) return null;
      var section = el("div", "gm-legend-section");
      section.setAttribute("data-layer", ld.id);
      section.appendChild(el("div", "gm-legend-title", ld.legend.title));
      ld.legend.items.forEach(function (item) {
        var row = el("div", "gm-legend-row");
        var first = ld.styles[0] || {};
        row.appendChild(swatch(first.fill === false ? "outline" : ld.geom, item.color,
                               first.fillOpacity));
        row.appendChild(el("span", "gm-legend-label", item.label));
        section.appendChild(row);
      });
      legendBox.appendChild(section);
      return section;
    }

    map.on("overlayadd overlayremove", function () { updateLegend(); updateLabels(); });
    map.on("zoomend moveend", updateLabels);

    // -- controls -----------------------------------------------------------------------
    var Legend = L.Control.extend({ onAdd: function () { return legendBox; } });
    new Legend({ position: "bottomright" }).addTo(map);
    var control = L.control.layers(null, null, { collapsed: false, position: "topright" });
    if (data.basemaps.length > 1) {
      baseLayers.forEach(function (b) { control.addBaseLayer(b[0], b[1]); });
    }
    overlays.forEach(function (o) { control.addOverlay(o[0], o[1]); });
    control.addTo(map);
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);

    var header = el("div", "gm-header");
    header.appendChild(el("h1", null, data.title));
    if (data.subtitle) header.appendChild(el("div", "gm-subtitle", data.subtitle));
    if (data.illustrative) header.appendChild(el("div", "gm-badge", "示意数据"));
    mapEl.appendChild(header);
    L.DomEvent.disableClickPropagation(header);

    var footer = el("div", "gm-footer");
    if (data.description) footer.appendChild(el("div", "gm-description", data.description));
    data.footer.forEach(function (line) { footer.appendChild(el("div", null, line)); });
    var Footer = L.Control.extend({ onAdd: function () { return footer; } });
    new Footer({ position: "bottomleft" }).addTo(map);

    // A point on feature i: its label point, else the centre of its bounds, else itself.
    function anchorOf(entry, i) {
      var at = entry.data.labelAt && entry.data.labelAt[i];
      if (at) return L.latLng(at);
      if (entry.host.boundsOf) return entry.host.boundsOf(i).getCenter();
      var layer = entry.byIndex[i];
      return layer.getBounds ? layer.getBounds().getCenter() : layer.getLatLng();
    }
    state.anchorOf = anchorOf;

    // Page coordinates of feature i of a layer (a point inside it): used by tests and export.
    state.pointOf = function (id, i) {
      var entry = state.layers[id];
      var ll = anchorOf(entry, i);
      var p = map.latLngToContainerPoint(ll);
      var r = mapEl.getBoundingClientRect();
      return [r.left + p.x, r.top + p.y];
    };

    // Print layout for `geomap export`: no interactive controls; north arrow, date, full legend.
    state.exportMode = function (dateText) {
      document.body.classList.add("gm-export");
      var arrow = el("div", "gm-north");
      arrow.appendChild(el("div", "gm-north-arrow", "▲"));
      arrow.appendChild(el("div", "gm-north-n", "N"));
      mapEl.appendChild(arrow);
      footer.appendChild(el("div", "gm-date", "制图日期：" + dateText));
      notice.style.display = "none";
      Object.keys(state.layers).forEach(function (id) {
        var e = state.layers[id];
        if (e.legend) e.legend.style.display = map.hasLayer(e.host) ? "" : "none";
      });
    };

    buildSearch(map, state);
    updateLegend();
    map.fitBounds(data.bounds, { padding: [20, 20], animate: false });
    updateLabels();
    state.ready = true;
    return state;
  }

  // -- search: find a feature by its name ------------------------------------------------
  function buildSearch(map, state) {
    var box = el("div", "gm-search");
    var input = el("input");
    input.type = "search";
    input.placeholder = "搜索名称…";
    input.setAttribute("aria-label", "搜索名称");
    var list = el("ul", "gm-search-results");
    box.appendChild(input);
    box.appendChild(list);
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);

    function show(entry, i) {
      var layer = entry.byIndex[i];
      if (!layer && !entry.host.boundsOf) return;
      if (!map.hasLayer(entry.host)) {
        entry.host.addTo(map);
        map.fire("overlayadd", { layer: entry.host });
      }
      var bounds = entry.host.boundsOf ? entry.host.boundsOf(i) : layer.getBounds ? layer.getBounds() : null;
      if (bounds && entry.data.geom !== "point") {
        map.fitBounds(bounds, { maxZoom: 17, animate: false });
      } else {
        map.setView(bounds ? bounds.getCenter() : layer.getLatLng(), 17, { animate: false });
      }
      if (entry.data.popup.length) {
        var at = state.anchorOf(entry, i);
        L.popup({ maxWidth: 360 }).setLatLng(at).setContent(popupContent(entry.data, i)).openOn(map);
      }
    }

    input.addEventListener("input", function () {
      while (list.firstChild) list.removeChild(list.firstChild);
      var q = input.value.trim().toLowerCase();
      if (!q) return;
      var found = 0;
      Object.keys(state.layers).some(function (id) {
        var entry = state.layers[id];
        if (!entry.data.search || entry.data.name < 0) return false;
        entry.data.values[entry.data.name].some(function (value, i) {
          var name = value === null || value === undefined ? null : String(value);
          if (name === null || name.toLowerCase().indexOf(q) < 0) return false;
          var li = el("li");
          li.appendChild(el("span", "gm-search-name", name));
          li.appendChild(el("span", "gm-search-layer", entry.data.title));
          li.addEventListener("click", function () { show(entry, i); });
          list.appendChild(li);
          found += 1;
          return found >= 12;
        });
        return found >= 12;
      });
      if (!found) list.appendChild(el("li", "gm-search-none", "未找到"));
    });
    var Search = L.Control.extend({ onAdd: function () { return box; } });
    new Search({ position: "topleft" }).addTo(map);
  }

  function start() {
    var node = document.getElementById("geomap-data");
    buildMap(JSON.parse(node.textContent));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
