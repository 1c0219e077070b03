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

  // The opening view: every layer's bounds (the page at load and the ⌂ home button).
  function openingView(map, data) {
    map.fitBounds(data.bounds, { padding: [20, 20], animate: false });
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
