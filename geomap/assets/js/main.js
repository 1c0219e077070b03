/* geomap client: builds the map from the JSON data block (geomap/payload.py documents
 * every field) once the page has loaded. */
(function (state) {
  "use strict";
  var lib = state.lib;

  function buildMap(data) {
    var mapEl = document.getElementById(data.mapId);
    // The map's own maxZoom: markercluster needs one even without a basemap.
    var map = L.map(mapEl, { center: data.center, zoom: 13, zoomControl: true,
                             preferCanvas: true, maxZoom: data.maxZoom });
    state.map = map;
    state.layers = {};
    state.baseLoaded = false;
    if (data.basemaps.length === 0) mapEl.classList.add("gm-no-basemap");

    var bases = lib.layers.addBasemaps(map, data, state, mapEl);
    var arbiter = lib.arbiter.create(map, state);
    var legend = lib.legend.create();
    var overlays = lib.layers.addLayers(map, data, state, arbiter, legend);
    state.layerList = data.layers.map(function (ld) { return state.layers[ld.id]; });
    function updateLabels() { lib.layers.updateLabels(map, state); }
    map.on("overlayadd overlayremove", function () { legend.update(map, state); updateLabels(); });
    map.on("zoomend moveend", updateLabels);

    lib.chrome.addControls(map, data, legend.box, bases.baseLayers, overlays);
    lib.chrome.addHeader(mapEl, data);
    var footer = lib.chrome.addFooter(map, data);

    state.anchorOf = lib.layers.anchorOf;
    // Page coordinates of feature i of a layer (a point inside it): used by tests and export.
    state.pointOf = function (id, i) {
      var ll = lib.layers.anchorOf(state.layers[id], i);
      var p = map.latLngToContainerPoint(ll);
      var r = mapEl.getBoundingClientRect();
      return [r.left + p.x, r.top + p.y];
    };
    state.hitAt = function (lat, lng) { return lib.hittest.hitAt(map, state, lat, lng); };
    var sheet = lib.exportMode.create(state);
    state.exportMode = sheet.apply;  // the printed sheet of `geomap export`
    state.sheetTiles = sheet.tiles;

    lib.search.build(map, state);
    var filters = lib.filters.create(map, state, legend);
    filters.buildFacets();
    lib.years.build(map, state, legend, filters);
    state.filters = filters;
    state.list = lib.list.create(map, state, filters);
    state.measure = lib.measure.create(map, state);
    lib.tools.build(map, data, state, { list: state.list, measure: state.measure,
                                        bases: bases, mapEl: mapEl });
    lib.tools.foldableFooter(footer, mapEl);
    legend.update(map, state);
    lib.tools.fitLegend(legend.box, state);  // the legend's final size: the view avoids it
    lib.tools.openingView(map, data);
    updateLabels();
    state.ready = true;
    return state;
  }

  function start() {
    var node = document.getElementById("geomap-data");
    buildMap(JSON.parse(node.textContent));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(window.geomap);
