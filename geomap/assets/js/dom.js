/* geomap client: shared DOM helpers.
 *
 * The client is split by concern into the files of geomap/assets/js/ (their order is
 * CLIENT_JS in geomap/assets.py) and inlined into the page as one script. The files share
 * one global, window.geomap: its `lib` holds the modules; once the map is built it also
 * holds the page state (map, layers, ready, pointOf, exportMode) used by tests and export.
 *
 * Every string from data reaches the page through textContent (or escapeHtml where Leaflet
 * insists on HTML, as in the layer control), never through innerHTML, so nothing in a layer
 * can run script.
 */
window.geomap = { lib: {} };
(function (lib) {
  "use strict";

  function escapeHtml(text) {
    return String(text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function formatValue(value, unit) {
    if (value === null || value === undefined || value === "") return "—";
    var text = typeof value === "number"
      // Group digits only from 10,000 up, so years and codes such as 2022 read as written.
      ? value.toLocaleString("zh-CN", { maximumFractionDigits: 2, useGrouping: Math.abs(value) >= 10000 })
      : String(value);
    return unit ? text + " " + unit : text;
  }

  // The short mark after an illustrative value (a split or placement the source does not
  // give), with its one-line explanation on hover.
  var BASIS_MARK = "（示意）";
  var BASIS_NOTE = "示意：非报告原数，为示意拆分或示意位置；合计与报告一致";

  function basisMark(basis) {
    if (basis !== "illustrative") return null;
    var mark = el("span", "gm-basis", BASIS_MARK);
    mark.title = BASIS_NOTE;
    return mark;
  }

  // A table of fields (indices into layerData.fields) of feature i.
  function recordTable(layerData, i, fieldIdx) {
    var table = el("table", "gm-record");
    fieldIdx.forEach(function (f) {
      var field = layerData.fields[f];
      var value = layerData.values[f][i];
      var tr = el("tr");
      tr.appendChild(el("th", null, field.label));
      var td = el("td", null, formatValue(value, field.unit));
      var mark = value === null || value === undefined || value === "" ? null : basisMark(field.basis);
      if (mark) td.appendChild(mark);
      tr.appendChild(td);
      table.appendChild(tr);
    });
    return table;
  }

  function featureName(layerData, i) {
    if (layerData.name < 0) return null;
    var v = layerData.values[layerData.name][i];
    return v === null || v === undefined ? null : String(v);
  }

  lib.dom = {
    escapeHtml: escapeHtml,
    el: el,
    formatValue: formatValue,
    basisMark: basisMark,
    recordTable: recordTable,
    featureName: featureName
  };
})(window.geomap.lib);
