/* geomap client: filters. A legend item hides or shows its class; a facet chip (for the
 * fields a map layer lists under `facets`) hides or shows the features with that value.
 * A hidden feature is not drawn, not hit by the mouse, not labelled and not listed.
 *
 * Per layer the state is ld.filter = { off: {class: true}, facets: {field: {value: true}} }
 * and entry.hidden, a Uint8Array (1 = hidden) or null when nothing is hidden.
 */
(function (lib) {
  "use strict";
  var el = lib.dom.el;

  function filterOf(ld) {
    if (!ld.filter) ld.filter = { off: {}, facets: {} };
    return ld.filter;
  }

  function valueKey(v) {
    return v === null || v === undefined || v === "" ? "" : String(v);
  }

  // entry.hidden from ld.filter; null when every feature is shown.
  function computeHidden(ld) {
    var f = filterOf(ld), n = ld.cls.length, cls = ld.cls;
    var offClasses = Object.keys(f.off).length > 0;
    var facets = Object.keys(f.facets).filter(function (k) {
      return Object.keys(f.facets[k]).length > 0;
    });
    if (!offClasses && !facets.length) return null;
    var hidden = new Uint8Array(n), any = false;
    for (var i = 0; i < n; i++) {
      var hide = offClasses && f.off[cls[i]] === true;
      for (var k = 0; !hide && k < facets.length; k++) {
        var field = facets[k];
        hide = f.facets[field][valueKey(ld.values[field][i])] === true;
      }
      if (hide) { hidden[i] = 1; any = true; }
    }
    return any ? hidden : null;
  }

  // {value: position} of a facet's values in the legend when the layer is styled by this
  // field (each value is a legend category and, where the page holds the values, its
  // features are drawn in that category's class); null otherwise.
  function legendRank(ld, field, values) {
    var rank = Object.create(null);
    ld.legend.items.forEach(function (item, k) {
      if (k < ld.styles.length && !(item.label in rank)) rank[item.label] = k;
    });
    var all = values.every(function (v) { return v === "" || v in rank; });
    if (!all || values.length < 2) return null;
    if (!ld.tiles) {  // the values are here: the styled field's features carry its classes
      var column = ld.values[field], cls = ld.cls;
      for (var i = 0; i < column.length; i++) {
        var k = valueKey(column[i]);
        if (k !== "" && cls[i] !== rank[k]) return null;
      }
    }
    return rank;
  }

  function create(map, state, legend) {
    var listeners = [];

    // Redraw layer entry after its filter (or its classes) changed.
    function apply(entry) {
      var ld = entry.data;
      var hidden = computeHidden(ld);
      entry.hidden = hidden;
      if (entry.host.restyle) {
        entry.host.hidden = hidden;
        entry.host.restyle();
      } else if (ld.cluster) {
        var show = [], hide = [];
        entry.geo.eachLayer(function (layer) {
          var h = !!(hidden && hidden[layer.gmIndex]);
          if (h !== !!layer.gmHidden) (h ? hide : show).push(layer);
          layer.gmHidden = h;
        });
        if (hide.length) entry.host.removeLayers(hide);
        if (show.length) entry.host.addLayers(show);
      } else {
        entry.geo.eachLayer(function (layer) {
          layer.gmHidden = !!(hidden && hidden[layer.gmIndex]);
        });
        if (state.renderer && state.renderer._map) state.renderer._redraw();
      }
      if (entry.legend) {
        var off = filterOf(ld).off;
        var rows = entry.legend.querySelectorAll("[data-geomap=legend-item]");
        Array.prototype.forEach.call(rows, function (row) {
          var isOff = off[row.getAttribute("data-class")] === true;
          row.classList.toggle("gm-off", isOff);
          row.setAttribute("aria-pressed", isOff ? "false" : "true");
        });
      }
      lib.layers.updateLabels(map, state);
      listeners.forEach(function (fn) { fn(entry); });
    }

    function entryOf(ld) {
      return state.layers[ld.id];
    }

    function toggleClass(ld, cls) {
      var off = filterOf(ld).off;
      if (off[cls]) delete off[cls]; else off[cls] = true;
      apply(entryOf(ld));
    }

    function toggleFacet(ld, field, value) {
      var facets = filterOf(ld).facets;
      var set = facets[field] || (facets[field] = {});
      var key = valueKey(value);
      if (set[key]) delete set[key]; else set[key] = true;
      apply(entryOf(ld));
    }

    // The facet chips of every layer with `facets`, in one panel.
    function buildFacets() {
      var box = el("div", "gm-facets");
      var any = false;
      state.layerList.forEach(function (entry) {
        var ld = entry.data;
        (ld.facets || []).forEach(function (field) {
          any = true;
          var group = el("div", "gm-facet");
          group.setAttribute("data-layer", ld.id);
          group.appendChild(el("div", "gm-facet-title", ld.title + " · " + ld.fields[field].label));
          var counts = Object.create(null), order = [];
          if (ld.tiles) {  // a tiled layer's values are in its tiles: counted at render
            ld.tiles.facetCounts[field].forEach(function (kc) { counts[kc[0]] = kc[1]; order.push(kc[0]); });
          } else {
            ld.values[field].forEach(function (v) {
              var k = valueKey(v);
              if (!(k in counts)) { counts[k] = 0; order.push(k); }
              counts[k]++;
            });
          }
          // Blank values last, as （无）: on an outcome field they are features the field does
          // not apply to (houses without hazards), not missing data. The others in legend
          // order when the layer is styled by this field, else by value.
          var rank = legendRank(ld, field, order);
          order.sort(function (a, b) {
            if ((a === "") !== (b === "")) return a === "" ? 1 : -1;
            if (rank) return rank[a] - rank[b];
            return a.localeCompare(b, "zh-CN", { numeric: true });
          });
          order.forEach(function (k) {
            var chip = el("button", "gm-chip", (k === "" ? "（无）" : k) + " " + counts[k]);
            chip.type = "button";
            chip.setAttribute("data-geomap", "facet");
            chip.setAttribute("data-field", ld.fields[field].label);
            chip.setAttribute("data-value", k);
            chip.setAttribute("aria-pressed", "true");
            chip.addEventListener("click", function () {
              toggleFacet(ld, field, k);
              var off = filterOf(ld).facets[field][k] === true;
              chip.classList.toggle("gm-off", off);
              chip.setAttribute("aria-pressed", off ? "false" : "true");
            });
            group.appendChild(chip);
          });
          box.appendChild(group);
        });
      });
      if (!any) return;
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var Facets = L.Control.extend({ onAdd: function () { return box; } });
      new Facets({ position: "topleft" }).addTo(map);
    }

    // Classes the spec switches off at open (`hidden`): off until a legend click.
    state.layerList.forEach(function (entry) {
      var ld = entry.data;
      if (!ld.hidden || !ld.hidden.length) return;
      ld.hidden.forEach(function (k) { filterOf(ld).off[k < ld.styles.length ? k : -1] = true; });
      apply(entry);
    });

    legend.onToggle(toggleClass);
    return {
      apply: apply,
      toggleClass: toggleClass,
      toggleFacet: toggleFacet,
      buildFacets: buildFacets,
      // fn(entry) after each filter change of a layer (the list follows).
      onChange: function (fn) { listeners.push(fn); },
      shown: function (entry, i) { return !(entry.hidden && entry.hidden[i]); }
    };
  }

  lib.filters = { create: create };
})(window.geomap.lib);
