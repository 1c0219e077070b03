/* geomap client: page chrome. The title header, the footer (description, sources, notes),
 * the legend, layer and scale controls. */
(function (lib) {
  "use strict";
  var el = lib.dom.el;

  function addControls(map, data, legendBox, baseLayers, overlays) {
    var Legend = L.Control.extend({ onAdd: function () { return legendBox; } });
    new Legend({ position: "bottomright" }).addTo(map);
    var control = L.control.layers(null, null, { collapsed: false, position: "topright" });
    if (data.basemaps.length > 1) {
      baseLayers.forEach(function (b) { control.addBaseLayer(b[0], b[1]); });
    }
    overlays.forEach(function (o) { control.addOverlay(o[0], o[1]); });
    control.addTo(map);
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  }

  function addHeader(mapEl, data) {
    var header = el("div", "gm-header");
    header.setAttribute("data-geomap", "title");
    header.appendChild(el("h1", null, data.title));
    if (data.subtitle) header.appendChild(el("div", "gm-subtitle", data.subtitle));
    if (data.illustrative) header.appendChild(el("div", "gm-badge", "示意数据"));
    mapEl.appendChild(header);
    L.DomEvent.disableClickPropagation(header);
    return header;
  }

  function addFooter(map, data) {
    var footer = el("div", "gm-footer");
    if (data.description) footer.appendChild(el("div", "gm-description", data.description));
    data.footer.forEach(function (line) { footer.appendChild(el("div", null, line)); });
    var Footer = L.Control.extend({ onAdd: function () { return footer; } });
    new Footer({ position: "bottomleft" }).addTo(map);
    return footer;
  }

  lib.chrome = { addControls: addControls, addHeader: addHeader, addFooter: addFooter };
})(window.geomap.lib);
