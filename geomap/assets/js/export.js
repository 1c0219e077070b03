/* geomap client: the print layout `geomap export` switches to. No interactive controls;
 * a north arrow, the date, and the legend of every layer shown. */
(function (lib) {
  "use strict";
  var el = lib.dom.el;

  // The function geomap.exportMode(dateText) of a built page.
  function create(map, state, mapEl, parts) {
    return function (dateText) {
      document.body.classList.add("gm-export");
      var arrow = el("div", "gm-north");
      arrow.appendChild(el("div", "gm-north-arrow", "▲"));
      arrow.appendChild(el("div", "gm-north-n", "N"));
      mapEl.appendChild(arrow);
      parts.footer.appendChild(el("div", "gm-date", "制图日期：" + dateText));
      parts.notice.style.display = "none";
      Object.keys(state.layers).forEach(function (id) {
        var e = state.layers[id];
        if (e.legend) e.legend.style.display = map.hasLayer(e.host) ? "" : "none";
      });
    };
  }

  lib.exportMode = { create: create };
})(window.geomap.lib);
