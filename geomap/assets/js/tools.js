/* geomap client: the tool bar and page fitting. Buttons for the opening view
 * (data-geomap="home"), the list (清单, "list-toggle") and measuring ("measure"); a basemap
 * switch (a <select data-geomap="basemap">, with 无底图); the footer folds to one line on
 * small screens; legend sections fold until the legend fits the screen.
 */
(function (lib) {
  "use strict";
  var el = lib.dom.el;

  function button(text, hook, title) {
    var b = el("button", "gm-tool", text);
    b.type = "button";
    b.setAttribute("data-geomap", hook);
    b.title = title;
    b.setAttribute("aria-label", title);
    return b;
  }

  function basemapSwitch(map, data, bases, mapEl) {
    var select = el("select", "gm-basemap");
    select.setAttribute("data-geomap", "basemap");
    select.setAttribute("aria-label", "底图");
    data.basemaps.forEach(function (b, k) {
      var opt = el("option", null, b.title);
      opt.value = String(k);
      select.appendChild(opt);
    });
    var none = el("option", null, "无底图");
    none.value = "none";
    select.appendChild(none);
    select.value = data.basemaps.length ? "0" : "none";
    select.addEventListener("change", function () {
      bases.baseLayers.forEach(function (b) { if (map.hasLayer(b[0])) map.removeLayer(b[0]); });
      var k = select.value;
      if (k !== "none") bases.baseLayers[Number(k)][0].addTo(map);
      mapEl.classList.toggle("gm-no-basemap", k === "none");
      if (k === "none") bases.notice.style.display = "none";
    });
    // The layer control's radio buttons switch basemaps too: keep the select in step.
    map.on("baselayerchange", function (e) {
      bases.baseLayers.forEach(function (b, k) { if (b[0] === e.layer) select.value = String(k); });
      mapEl.classList.remove("gm-no-basemap");
    });
    return select;
  }

  // The opening view (the page at load and the ⌂ home button): every shown layer's bounds
  // (data.bounds) as large as they fit in the part of the map no panel covers (legend,
  // title, tools, facet chips, layer control, footer...: measured in the page, so a panel
  // added later is avoided too), GAP px clear of them, as near the middle as they can be.
  var GAP = 10;

  // The panel-free rectangles whose edges are the map's or a panels' edges.
  function freeRects(size, panels) {
    var lefts = [0], rights = [size.x], tops = [0], bottoms = [size.y], out = [];
    panels.forEach(function (p) {
      lefts.push(p.right); rights.push(p.left); tops.push(p.bottom); bottoms.push(p.top);
    });
    lefts.forEach(function (l) {
      rights.forEach(function (r) {
        if (r - l <= 2 * GAP) return;
        tops.forEach(function (t) {
          bottoms.forEach(function (b) {
            if (b - t <= 2 * GAP) return;
            var free = panels.every(function (p) {
              return !(l < p.right && p.left < r && t < p.bottom && p.top < b);
            });
            if (free) out.push({ left: l + GAP, top: t + GAP, right: r - GAP, bottom: b - GAP });
          });
        });
      });
    });
    return out;
  }

  // The zoom for a box w x h pixels at zoom 0 to fill scale 2^exact: a whole level when
  // it shows the box at >= 80 % of that (sharp basemap tiles), else the quarter level below.
  function snapZoom(map, exact) {
    var zoom = Math.floor(exact + 1e-9);
    if (Math.pow(2, zoom - exact) < 0.8) zoom = Math.floor(exact * 4 + 1e-9) / 4;
    return Math.max(map.getMinZoom(), Math.min(map.getMaxZoom(), zoom));
  }

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

  function openingView(map, data) {
    var bounds = L.latLngBounds(data.bounds), size = map.getSize();
    var nw = map.project(bounds.getNorthWest(), 0), se = map.project(bounds.getSouthEast(), 0);
    var w = Math.max(se.x - nw.x, 1e-9), h = Math.max(se.y - nw.y, 1e-9);
    function scaleIn(r) { return Math.min((r.right - r.left) / w, (r.bottom - r.top) / h); }
    var whole = { left: GAP, top: GAP, right: size.x - GAP, bottom: size.y - GAP };
    var rects = freeRects(size, lib.arbiter.panelRects(map)), best = 0;
    rects.forEach(function (r) { best = Math.max(best, scaleIn(r)); });
    // Panels over most of a small screen: the whole map rather than a postage stamp.
    if (best < scaleIn(whole) / 3) { rects = [whole]; best = scaleIn(whole); }
    var zoom = snapZoom(map, Math.log(best) / Math.LN2), k = Math.pow(2, zoom);
    // The box's centre: the map's middle, or the nearest point to it in a rectangle that
    // holds the box.
    var mid = L.point(size.x / 2, size.y / 2), at = null, dist = Infinity;
    rects.forEach(function (r) {
      var hw = w * k / 2, hh = h * k / 2;
      if (r.right - r.left < 2 * hw - 0.5 || r.bottom - r.top < 2 * hh - 0.5) return;
      var c = L.point(clamp(mid.x, r.left + hw, r.right - hw), clamp(mid.y, r.top + hh, r.bottom - hh));
      if (c.distanceTo(mid) < dist) { dist = c.distanceTo(mid); at = c; }
    });
    at = at || mid;
    var centre = L.point((nw.x + se.x) / 2 * k, (nw.y + se.y) / 2 * k).add(mid.subtract(at));
    var snap = map.options.zoomSnap;
    map.options.zoomSnap = 0;  // setView would round a quarter level to a whole one
    map.setView(map.unproject(centre, zoom), zoom, { animate: false });
    map.options.zoomSnap = snap;
  }

  function build(map, data, state, parts) {
    var bar = el("div", "gm-tools leaflet-bar");
    var home = button("⌂", "home", "回到初始视图");
    home.addEventListener("click", function () { openingView(map, data); });
    var list = button("清单", "list-toggle", "显示/隐藏清单");
    list.addEventListener("click", function () {
      list.setAttribute("aria-pressed", parts.list.toggle() ? "true" : "false");
    });
    var measure = button("测量", "measure", "测量距离和面积");
    measure.addEventListener("click", function () {
      var on = parts.measure.toggle();
      measure.setAttribute("aria-pressed", on ? "true" : "false");
      measure.classList.toggle("gm-on", on);
    });
    [home, list, measure].forEach(function (b) { bar.appendChild(b); });
    bar.appendChild(basemapSwitch(map, data, parts.bases, parts.mapEl));
    L.DomEvent.disableClickPropagation(bar);
    var Tools = L.Control.extend({ onAdd: function () { return bar; } });
    new Tools({ position: "topleft" }).addTo(map);
  }

  // The footer: a fold button; folded from the start when the screen is small.
  function foldableFooter(footer, mapEl) {
    var fold = el("button", "gm-footer-fold", "说明 ▾");
    fold.type = "button";
    fold.setAttribute("data-geomap", "footer-toggle");
    function set(folded) {
      footer.classList.toggle("gm-folded", folded);
      fold.textContent = folded ? "说明 ▸" : "收起 ▾";
      fold.setAttribute("aria-expanded", folded ? "false" : "true");
    }
    fold.addEventListener("click", function () { set(!footer.classList.contains("gm-folded")); });
    footer.insertBefore(fold, footer.firstChild);
    set(mapEl.clientWidth < 1200 || mapEl.clientHeight < 700);
  }

  // Fold legend sections, the bottom-most layers' first, until the legend fits its room.
  function fitLegend(legendBox, state) {
    var sections = state.layerList.map(function (e) { return e.legend; })
      .filter(function (s) { return s && s.style.display !== "none"; });
    for (var k = 0; k < sections.length - 1 && legendBox.scrollHeight > legendBox.clientHeight + 1; k++) {
      sections[k].classList.add("gm-folded");
    }
  }

  lib.tools = { build: build, openingView: openingView, foldableFooter: foldableFooter,
                fitLegend: fitLegend };
})(window.geomap.lib);
