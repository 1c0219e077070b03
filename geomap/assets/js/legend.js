/* geomap client: the legend, one section per layer, shown while its layer is on the map.
 *
 * Each class or category is a button (data-geomap="legend-item", data-class = the class
 * index, -1 for 无数据): clicking it hides or shows that class's features (filters.js). A
 * section's title folds the section, so several layers' legends fit a 1280x800 screen. A
 * single-style layer shows its title once, as its only item.
 */
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

  // The class index of legend item k: classes 0..n-1 in order, then 无数据 (-1).
  function classOf(ld, k) {
    return k < ld.styles.length ? k : -1;
  }

  function create() {
    var box = el("div", "gm-legend");
    var onToggle = null;

    // (Re)build section's rows from ld.legend (after a year switch too).
    function fill(section, ld) {
      while (section.firstChild) section.removeChild(section.firstChild);
      var items = ld.legend.items;
      var single = items.length === 1 && ld.styles.length === 1;
      var body = el("div", "gm-legend-body");
      if (!single) {
        var title = el("button", "gm-legend-title", ld.legend.title);
        title.type = "button";
        var mark = lib.dom.basisMark(ld.legend.basis); // a choropleth on an illustrative split
        if (mark) title.appendChild(mark);
        title.setAttribute("aria-expanded", "true");
        title.addEventListener("click", function () {
          var folded = section.classList.toggle("gm-folded");
          title.setAttribute("aria-expanded", folded ? "false" : "true");
        });
        section.appendChild(title);
      }
      var off = (ld.filter && ld.filter.off) || {};
      items.forEach(function (item, k) {
        var row = el("button", "gm-legend-row");
        row.type = "button";
        var cls = classOf(ld, k);
        row.setAttribute("data-geomap", "legend-item");
        row.setAttribute("data-class", String(cls));
        row.setAttribute("aria-pressed", off[cls] ? "false" : "true");
        if (off[cls]) row.classList.add("gm-off");
        row.title = "点击隐藏/显示";
        var first = ld.styles[0] || {};
        row.appendChild(swatch(first.fill === false ? "outline" : ld.geom, item.color,
                               first.fillOpacity));
        row.appendChild(el("span", "gm-legend-label", item.label));
        row.addEventListener("click", function () {
          if (onToggle) onToggle(ld, cls);
        });
        body.appendChild(row);
      });
      section.appendChild(body);
    }

    // A section for layer data ld (or null when it has no legend).
    function add(ld) {
      if (!ld.legend) return null;
      var section = el("div", "gm-legend-section");
      section.setAttribute("data-layer", ld.id);
      fill(section, ld);
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

    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return {
      box: box, add: add, update: update, fill: fill,
      onToggle: function (fn) { onToggle = fn; }
    };
  }

  lib.legend = { create: create };
})(window.geomap.lib);
