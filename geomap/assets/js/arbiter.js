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

  // The fields of feature i worth a row under a heading that reads `name`: a field that
  // would read the name itself (名称, 村名... = 九村 under the heading 九村) repeats it.
  function besideName(ld, i, fields, name) {
    if (name === null || name === "") return fields;
    return fields.filter(function (f) {
      return lib.dom.formatValue(ld.values[f][i], ld.fields[f].unit) !== name;
    });
  }

  function tooltipContent(ld, i) {
    var box = el("div", "gm-tooltip");
    var name = lib.dom.featureName(ld, i);
    box.appendChild(el("div", "gm-tooltip-title", name !== null ? name : ld.title));
    box.appendChild(lib.dom.recordTable(ld, i, besideName(ld, i, ld.tooltip, name)));
    return box;
  }

  function popupContent(ld, i) {
    var box = el("div", "gm-popup");
    box.appendChild(el("div", "gm-popup-layer", ld.title));
    var name = lib.dom.featureName(ld, i);
    if (name !== null) box.appendChild(el("h3", null, name));
    box.appendChild(lib.dom.recordTable(ld, i, besideName(ld, i, ld.popup, name)));
    if (ld.series && lib.years) box.appendChild(lib.years.chart(ld, i));
    return box;
  }

  // Popups pan clear of every panel over the map: Leaflet controls (zoom, search, facet
  // chips, tools, layers, legend, footer, scale) and geomap's own boxes (title, list,
  // measure), found in the page rather than listed, so a new panel is avoided too.
  var GAP = 8;

  function panelRects(map) {
    var box = map.getContainer(), origin = box.getBoundingClientRect();
    var els = [].slice.call(box.querySelectorAll(".leaflet-control"));
    [].forEach.call(box.children, function (c) {
      if (!c.classList.contains("leaflet-pane") && !c.classList.contains("leaflet-control-container")) els.push(c);
    });
    return els.map(function (e) { return relRect(e, origin); })
      .filter(function (r) { return r.right > r.left && r.bottom > r.top; });
  }

  function relRect(e, origin) {
    var r = e.getBoundingClientRect();
    return { left: r.left - origin.left, top: r.top - origin.top,
             right: r.right - origin.left, bottom: r.bottom - origin.top };
  }

  function meets(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  // The smallest shift (dx, dy) that puts rect inside the map and off every panel: each
  // candidate puts an edge of the rect beside an edge of a panel or of the map.
  function clearShift(rect, panels, size) {
    var xs = [0, GAP - rect.left, size.x - GAP - rect.right];
    var ys = [0, GAP - rect.top, size.y - GAP - rect.bottom];
    panels.forEach(function (p) {
      xs.push(p.right + GAP - rect.left, p.left - GAP - rect.right);
      ys.push(p.bottom + GAP - rect.top, p.top - GAP - rect.bottom);
    });
    var best = null;
    xs.forEach(function (dx) {
      ys.forEach(function (dy) {
        var r = { left: rect.left + dx, top: rect.top + dy, right: rect.right + dx, bottom: rect.bottom + dy };
        if (r.left < GAP - 0.5 || r.top < GAP - 0.5 || r.right > size.x - GAP + 0.5 || r.bottom > size.y - GAP + 0.5) return;
        if (panels.some(function (p) { return meets(r, p); })) return;
        var cost = Math.abs(dx) + Math.abs(dy);
        if (!best || cost < best.cost) best = { dx: dx, dy: dy, cost: cost };
      });
    });
    return best;
  }

  // Pan so the whole popup is clear of the panels, shortening it (its record scrolls) down
  // to MIN_HEIGHT if no clear place holds it whole (a small screen with the list open); if
  // it still cannot be, its heading (layer line and name); failing that, keep the popup
  // inside the map as Leaflet would.
  var MIN_HEIGHT = 100, STEP = 40;

  function panClear(map, popup) {
    var el = popup.getElement();
    if (!el) return;
    var origin = map.getContainer().getBoundingClientRect(), size = map.getSize();
    var panels = panelRects(map), body = el.querySelector(".leaflet-popup-content");
    var height = body ? body.offsetHeight : 0;
    while (body && height > MIN_HEIGHT && !clearShift(relRect(el, origin), panels, size)) {
      height = Math.max(MIN_HEIGHT, height - STEP);
      popup.options.maxHeight = height;
      popup.update();
    }
    var whole = relRect(el, origin);
    var head = el.querySelector(".gm-popup h3") || el.querySelector(".gm-popup-layer");
    var top = head ? { left: whole.left, top: whole.top, right: whole.right,
                       bottom: relRect(head, origin).bottom } : whole;
    var shift = clearShift(whole, panels, size) || clearShift(top, panels, size) ||
      clearShift(whole, [], size);
    if (shift && (shift.dx || shift.dy)) map.panBy([-shift.dx, -shift.dy]);
  }

  // A popup never grows taller than the room below the title: a long record scrolls
  // inside it (50 px: the popup's own padding and tip).
  function popupMaxHeight(map) {
    var box = map.getContainer(), title = box.querySelector(".gm-header");
    var top = title ? relRect(title, box.getBoundingClientRect()).bottom : 0;
    return Math.max(120, map.getSize().y - Math.max(top, 0) - 2 * GAP - 50);
  }

  function openPopup(map, latlng, ld, i) {
    var maxHeight = popupMaxHeight(map);
    var popup = L.popup({ maxWidth: 360, maxHeight: maxHeight, autoPan: false })
      .setLatLng(latlng).setContent(popupContent(ld, i)).openOn(map);
    panClear(map, popup);
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
    openPopup: openPopup,
    panelRects: panelRects
  };
})(window.geomap.lib);
