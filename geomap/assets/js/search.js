/* geomap client: find a feature by its name (layers with search on), zoom to it and open
 * its popup. A click on a result or Enter (the first result) chooses; the list then closes. */
(function (lib) {
  "use strict";
  var el = lib.dom.el;
  var MAX_RESULTS = 12;

  function show(map, state, entry, i) {
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
      var open = function () { lib.arbiter.openPopup(map, lib.layers.anchorOf(entry, i), entry.data, i); };
      // A tiled layer reads the feature's fields from its tile once drawn.
      if (entry.host.withFeature) entry.host.withFeature(i, open); else open();
    }
  }

  lib.search = { show: show };

  function build(map, state) {
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

    // Names of a tiled layer come from its search index, fetched at the first search.
    var tiledNames = {};
    function namesOf(entry) {
      if (!entry.host.searchNames) return entry.data.values[entry.data.name];
      if (!tiledNames[entry.data.id]) {
        tiledNames[entry.data.id] = [];
        entry.host.searchNames(function (names) {
          tiledNames[entry.data.id] = names;
          input.dispatchEvent(new Event("input"));
        });
      }
      return tiledNames[entry.data.id];
    }

    function clear() { while (list.firstChild) list.removeChild(list.firstChild); }
    // A chosen result closes the list (the name stays in the box), so the list no longer
    // covers the feature it has just zoomed to.
    function pick(entry, i) {
      clear();
      show(map, state, entry, i);
    }
    // Enter chooses the first result, as in any search box.
    input.addEventListener("keydown", function (e) {
      if (e.key !== "Enter") return;
      var first = list.querySelector("li:not(.gm-search-none)");
      if (first) first.click();
    });

    input.addEventListener("input", function () {
      clear();
      var q = input.value.trim().toLowerCase();
      if (!q) return;
      var found = 0;
      Object.keys(state.layers).some(function (id) {
        var entry = state.layers[id];
        if (!entry.data.search || entry.data.name < 0) return false;
        namesOf(entry).some(function (value, i) {
          var name = value === null || value === undefined ? null : String(value);
          if (name === null || name.toLowerCase().indexOf(q) < 0) return false;
          var li = el("li");
          li.appendChild(el("span", "gm-search-name", name));
          li.appendChild(el("span", "gm-search-layer", entry.data.title));
          li.addEventListener("click", function (e) {
            // The row leaves the page at once: the map must not take this click for its own
            // (Leaflet would close the popup just opened).
            L.DomEvent.stopPropagation(e);
            pick(entry, i);
          });
          list.appendChild(li);
          found += 1;
          return found >= MAX_RESULTS;
        });
        return found >= MAX_RESULTS;
      });
      if (!found) list.appendChild(el("li", "gm-search-none", "未找到"));
    });
    var Search = L.Control.extend({ onAdd: function () { return box; } });
    new Search({ position: "topleft" }).addTo(map);
  }

  lib.search.build = build;
})(window.geomap.lib);
