/* geomap client: tooltip and popup contents, and the arbiter that shows one tooltip and one
 * popup for the whole map.
 *
 * Every layer reports the feature under the mouse; after all of a mouse event's handlers
 * have run, only the topmost layer's feature (the last in the spec) gets a tooltip or
 * popup, so a house drawn over its village shows the house alone.
 */
(function (lib) {
  "use strict";
  var el = lib.dom.el;

  function tooltipContent(ld, i) {
    var box = el("div", "gm-tooltip");
    var name = lib.dom.featureName(ld, i);
    box.appendChild(el("div", "gm-tooltip-title", name !== null ? name : ld.title));
    box.appendChild(lib.dom.recordTable(ld, i, ld.tooltip));
    return box;
  }

  function popupContent(ld, i) {
    var box = el("div", "gm-popup");
    box.appendChild(el("div", "gm-popup-layer", ld.title));
    var name = lib.dom.featureName(ld, i);
    if (name !== null) box.appendChild(el("h3", null, name));
    box.appendChild(lib.dom.recordTable(ld, i, ld.popup));
    if (ld.series && lib.years) box.appendChild(lib.years.chart(ld, i));
    return box;
  }

  // Popups pan clear of the title box (top) and the legend (bottom right).
  function panPadding(map) {
    var mapRect = map.getContainer().getBoundingClientRect();
    var top = 10, right = 10;
    var header = map.getContainer().querySelector("[data-geomap=title]");
    if (header) top = Math.max(top, header.getBoundingClientRect().bottom - mapRect.top + 10);
    var legend = map.getContainer().querySelector(".gm-legend");
    if (legend && legend.offsetParent) {
      var r = legend.getBoundingClientRect();
      if (r.width) right = Math.max(right, mapRect.right - r.left + 10);
    }
    return { topLeft: [10, top], bottomRight: [right, 10] };
  }

  function openPopup(map, latlng, ld, i) {
    var pad = panPadding(map);
    L.popup({ maxWidth: 360, autoPanPaddingTopLeft: pad.topLeft,
              autoPanPaddingBottomRight: pad.bottomRight })
      .setLatLng(latlng).setContent(popupContent(ld, i)).openOn(map);
  }

  // state.layers[id].host tells whether a layer is on the map.
  function create(map, state) {
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
      if (click && click.ld.popup.length && lastLatLng && !state.measuring) openPopup(map, lastLatLng, click.ld, click.i);
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
  }

  lib.arbiter = {
    create: create,
    tooltipContent: tooltipContent,
    popupContent: popupContent,
    openPopup: openPopup
  };
})(window.geomap.lib);
