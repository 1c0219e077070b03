/* geomap client: basemaps, vector layers (Leaflet or fast canvas), and polygon labels.
 *
 * Styles arrive precomputed: one class index per feature and a short list of style
 * objects, so styling 100k features costs an array lookup each.
 */
(function (lib) {
  "use strict";
  var el = lib.dom.el, escapeHtml = lib.dom.escapeHtml;

  // Tile layers of data.basemaps (the first one shown), and the notice shown while none
  // loads. Arrays, not objects keyed by title: titles such as __proto__ or two layers with
  // one title must not lose a layer.
  function addBasemaps(map, data, state, mapEl) {
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
    return { baseLayers: baseLayers, notice: notice };
  }

  function addFastLayer(map, ld, state, arbiter, legend) {
    var fast = new lib.FastLayer(ld, {
      hover: function (i) { arbiter.hover(ld, i); },
      click: function (i) { arbiter.click(ld, i); }
    });
    state.layers[ld.id] = { data: ld, geo: null, host: fast, count: fast.fast.present,
                            labels: null, legend: legend.add(ld), byIndex: {} };
    if (ld.show) fast.addTo(map);
    return fast;
  }

  function addLeafletLayer(map, ld, state, arbiter, legend, renderer) {
    // Read from ld on each call: a year switch replaces ld.cls, ld.styles and ld.noData.
    function styleOf(i) {
      var c = ld.cls[i];
      return c >= 0 ? ld.styles[c] : ld.noData;
    }
    var geo = L.geoJSON(null, {
      renderer: renderer,
      style: function (f) { return styleOf(f.id); },
      pointToLayer: function (f, latlng) {
        var s = styleOf(f.id);
        return L.circleMarker(latlng, Object.assign({ renderer: renderer }, s));
      },
      onEachFeature: function (f, layer) { layer.gmIndex = f.id; layer.gmOrder = ld.order; }
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
                  labels: null, legend: null, byIndex: {}, styleOf: styleOf };
    geo.eachLayer(function (layer) { entry.byIndex[layer.gmIndex] = layer; });
    state.layers[ld.id] = entry;
    entry.legend = legend.add(ld);
    if (ld.labelAt) entry.labels = L.layerGroup();
    if (ld.show) host.addTo(map);
    return host;
  }

  // Every layer of data.layers, in spec order (the last on top). Returns the layer
  // control's overlays as [layer, escaped title] pairs.
  function addLayers(map, data, state, arbiter, legend) {
    // One canvas for the Leaflet-drawn layers, picking the feature under the cursor.
    var renderer = new lib.HitCanvas({ padding: 0.5, tolerance: 4 });
    state.renderer = renderer;
    var overlays = [];
    data.layers.forEach(function (ld, order) {
      ld.order = order;
      var host = ld.tiles ? lib.tiles.addTiledLayer(map, ld, state, arbiter, legend, renderer)
                 : ld.fast ? addFastLayer(map, ld, state, arbiter, legend)
                 : addLeafletLayer(map, ld, state, arbiter, legend, renderer);
      overlays.push([host, escapeHtml(ld.title)]);
    });
    return overlays;
  }

  // Labels at zooms where they fit: a polygon's name when its box lies within the polygon's
  // bounds and overprints no label placed before it (the topmost layer's labels first).
  // Features a filter hides have no label.
  var LABEL_CHAR_PX = 13, LABEL_HEIGHT_PX = 16;
  function updateLabels(map, state) {
    var placed = [];
    function overlaps(b) {
      for (var k = 0; k < placed.length; k++) {
        var p = placed[k];
        if (b[0] < p[2] && p[0] < b[2] && b[1] < p[3] && p[1] < b[3]) return true;
      }
      return false;
    }
    var ids = Object.keys(state.layers).sort(function (a, b) {
      return state.layers[b].data.order - state.layers[a].data.order;
    });
    ids.forEach(function (id) {
      var entry = state.layers[id];
      if (!entry.labels) return;
      entry.labels.clearLayers();
      if (!map.hasLayer(entry.host)) { map.removeLayer(entry.labels); return; }
      var view = map.getBounds();
      entry.geo.eachLayer(function (layer) {
        var i = layer.gmIndex;
        if (entry.hidden && entry.hidden[i]) return;
        var name = lib.dom.featureName(entry.data, i);
        var at = entry.data.labelAt[i];
        if (!name || !at || !view.contains(at)) return;
        var b = layer.getBounds();
        var ne = map.latLngToContainerPoint(b.getNorthEast());
        var sw = map.latLngToContainerPoint(b.getSouthWest());
        var w = name.length * LABEL_CHAR_PX + 10;
        if (ne.x - sw.x < w || sw.y - ne.y < LABEL_HEIGHT_PX + 4) return;
        var c = map.latLngToContainerPoint(L.latLng(at));
        var box = [c.x - w / 2, c.y - LABEL_HEIGHT_PX / 2, c.x + w / 2, c.y + LABEL_HEIGHT_PX / 2];
        // Inside its own polygon's bounds, and over no label placed before it.
        if (box[0] < sw.x || box[2] > ne.x || box[1] < ne.y || box[3] > sw.y) return;
        if (overlaps(box)) return;
        placed.push(box);
        var html = el("span", null, name);
        entry.labels.addLayer(L.marker(at, {
          interactive: false, keyboard: false,
          icon: L.divIcon({ className: "gm-label", html: html, iconSize: null })
        }));
      });
      entry.labels.addTo(map);
    });
  }

  // A point on feature i: its label point, else the centre of its bounds, else itself.
  function anchorOf(entry, i) {
    var at = entry.data.labelAt && entry.data.labelAt[i];
    if (at) return L.latLng(at);
    if (entry.host.pointOf) return entry.host.pointOf(i);
    if (entry.host.boundsOf) return entry.host.boundsOf(i).getCenter();
    var layer = entry.byIndex[i];
    return layer.getBounds ? layer.getBounds().getCenter() : layer.getLatLng();
  }

  lib.layers = {
    addBasemaps: addBasemaps,
    addLayers: addLayers,
    updateLabels: updateLabels,
    anchorOf: anchorOf
  };
})(window.geomap.lib);
