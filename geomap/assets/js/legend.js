/* geomap client: the legend, one section per layer, shown while its layer is on the map. */
(function (lib) {
  "use strict";
  var el = lib.dom.el;

  function swatch(shape, color, opacity) {
    var s = el("span", "gm-swatch gm-swatch-" + shape);
    s.style.background = shape === "line" ? "transparent" : color;
    s.style.borderColor = color;
    // The swatch shows the colour as the map does: filled areas are drawn translucent.
    if (shape === "polygon" && opacity !== undefined) s.style.opacity = String(Math.max(opacity, 0.35));
    return s;
  }

  function create() {
    var box = el("div", "gm-legend");

    // A section for layer data ld (or null when it has no legend).
    function add(ld) {
      if (!ld.legend) return null;
      var section = el("div", "gm-legend-section");
      section.setAttribute("data-layer", ld.id);
      var title = el("div", "gm-legend-title", ld.legend.title);
      var mark = lib.dom.basisMark(ld.legend.basis);  // a choropleth on an illustrative split
      if (mark) title.appendChild(mark);
      section.appendChild(title);
      ld.legend.items.forEach(function (item) {
        var row = el("div", "gm-legend-row");
        var first = ld.styles[0] || {};
        row.appendChild(swatch(first.fill === false ? "outline" : ld.geom, item.color,
                               first.fillOpacity));
        row.appendChild(el("span", "gm-legend-label", item.label));
        section.appendChild(row);
      });
      box.appendChild(section);
      return section;
    }

    // Sections follow their layers; the box hides when no layer with a legend is shown.
    function update(map, state) {
      var any = false;
      Object.keys(state.layers).forEach(function (id) {
        var entry = state.layers[id];
        if (!entry.legend) return;
        var on = map.hasLayer(entry.host);
        entry.legend.style.display = on ? "" : "none";
        any = any || on;
      });
      box.style.display = any ? "" : "none";
    }

    return { box: box, add: add, update: update };
  }

  lib.legend = { create: create };
})(window.geomap.lib);
