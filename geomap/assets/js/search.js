/* geomap client: find a feature by its name (layers with search on), zoom to it and open
 * its popup. A click on a result or Enter (the first result) chooses; the list then closes. */
(function (lib) {
  "use strict";
  var el = lib.dom.el;
  var MAX_RESULTS = 12;
  var DEBOUNCE_MS = 200; // typing pause before a streamed index is read

  function show(map, state, entry, i) {
    var layer = entry.byIndex[i];
    // A tiled layer's result listed before its point was read: read it first.
    if (!layer && entry.host.locate && !entry.host.pointOf(i)) {
      entry.host.locate(i, function () { if (entry.host.pointOf(i)) show(map, state, entry, i); });
      return;
    }
    if (!layer && !entry.host.boundsOf) return;
    if (!map.hasLayer(entry.host)) {
      entry.host.addTo(map);
      map.fire("overlayadd", { layer: entry.host });
    }
    var bounds = entry.host.boundsOf ? entry.host.boundsOf(i) : layer.getBounds ? layer.getBounds() : null;
    if (!bounds && !layer) return; // a tiled feature without a known point
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

    // Each layer's names lowercased once (not on every keystroke), kept while its names
    // stay the same list.
    var lowered = {};
    function lowNames(entry) {
      var names = entry.data.values[entry.data.name], got = lowered[entry.data.id];
      if (!got || got.names !== names) {
        got = lowered[entry.data.id] = {
          names: names,
          low: names.map(function (v) {
            return v === null || v === undefined ? null : String(v).toLowerCase();
          })
        };
      }
      return got.low;
    }

    function clear() { while (list.firstChild) list.removeChild(list.firstChild); }
    // A chosen result closes the list (the name stays in the box), so the list no longer
    // covers the feature it has just zoomed to.
    function pick(entry, i) {
      seq += 1; // a search still under way no longer fills the list
      clear();
      show(map, state, entry, i);
    }
    // Enter chooses the first result, as in any search box.
    input.addEventListener("keydown", function (e) {
      if (e.key !== "Enter") return;
      var first = list.querySelector("li:not(.gm-search-none)");
      if (first) first.click();
    });

    function row(entry, i, name, before) {
      var li = el("li");
      li.appendChild(el("span", "gm-search-name", name));
      li.appendChild(el("span", "gm-search-layer", entry.data.title));
      li.addEventListener("click", function (e) {
        // The row leaves the page at once: the map must not take this click for its own
        // (Leaflet would close the popup just opened).
        L.DomEvent.stopPropagation(e);
        pick(entry, i);
      });
      list.insertBefore(li, before || null);
    }

    // A layer's names are in the page (scanned here at once) or, for a tiled layer, in its
    // search index beside the page (host.search: asked in turn, answers later). Results
    // come in layer order, MAX_RESULTS at most; an answer to an earlier query is dropped.
    var seq = 0, timer = null;
    function run(q, my) {
      var layers = Object.keys(state.layers).map(function (id) { return state.layers[id]; })
        .filter(function (entry) { return entry.data.search && entry.data.name >= 0; });
      var found = 0, pending = null, failed = false;
      function next(k) {
        if (my !== seq) return;
        for (; k < layers.length && found < MAX_RESULTS; k++) {
          var entry = layers[k];
          if (entry.host.search) {
            if (!pending) pending = list.appendChild(el("li", "gm-search-none gm-search-pending", "搜索中…"));
            var shown = { n: 0 };
            entry.host.search(q, MAX_RESULTS - found, answer(entry, k, shown), more(entry, shown));
            return;
          }
          var low = lowNames(entry), names = entry.data.values[entry.data.name];
          for (var i = 0; i < low.length && found < MAX_RESULTS; i++) {
            if (low[i] === null || low[i].indexOf(q) < 0) continue;
            row(entry, i, String(names[i]));
            found += 1;
          }
        }
        if (pending && pending.parentNode) list.removeChild(pending);
        pending = null;
        if (!found && !failed) list.appendChild(el("li", "gm-search-none", "未找到"));
      }
      // A streamed index's results are listed as they are found (above 搜索中…).
      function more(entry, shown) {
        return function (results) {
          if (my !== seq) return;
          results.forEach(function (r) { row(entry, r.i, r.name, pending); });
          shown.n += results.length;
        };
      }
      function answer(entry, k, shown) {
        return function (results, error) {
          if (my !== seq) return;
          if (pending.parentNode) list.removeChild(pending);
          results.slice(shown.n).forEach(function (r) { row(entry, r.i, r.name); });
          // An index that could not be read is said so (not 未找到), and by which layer.
          if (error) {
            list.appendChild(el("li", "gm-search-none gm-search-error", error.unreadable
              ? "「" + entry.data.title + "」在本地文件中无法搜索：请在图集目录运行 geomap serve 后打开地图"
              : "「" + entry.data.title + "」的搜索索引读取失败"));
            failed = true;
          }
          found += results.length;
          pending = null;
          next(k + 1);
        };
      }
      next(0);
    }

    input.addEventListener("input", function () {
      clear();
      var my = ++seq;
      clearTimeout(timer);
      var q = input.value.trim().toLowerCase();
      if (!q) return;
      // A streamed index is read again for each query: not on every keystroke.
      var streamed = Object.keys(state.layers).some(function (id) {
        var entry = state.layers[id];
        return entry.data.search && entry.host.searchStreamed && entry.host.searchStreamed();
      });
      if (streamed) timer = setTimeout(function () { run(q, my); }, DEBOUNCE_MS);
      else run(q, my);
    });
    var Search = L.Control.extend({ onAdd: function () { return box; } });
    new Search({ position: "topleft" }).addTo(map);
  }

  lib.search.build = build;
})(window.geomap.lib);
