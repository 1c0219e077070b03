/* geomap client: the list (清单) beside the map. It lists the features shown on the topmost
 * shown data layer (filters apply) with the layer's tooltip fields: sortable by any column,
 * a click on a row zooms to the feature and opens its popup, and 下载CSV saves the rows as
 * CSV (UTF-8 with BOM for Excel; cells that a spreadsheet would read as a formula are
 * neutralised; only the page's public fields, illustrative columns marked （示意）).
 * Long lists are virtualised: only the rows in sight are in the DOM.
 *
 * A layer drawn from vector tiles (tiles.js) has no values in the page: its list holds the
 * features whose box meets the current view, read from the view's tiles, from the layer's
 * full-detail zoom up, and follows the view (as a GIS's "features visible on map" table);
 * below that zoom it says how far to zoom in (the summary grid is not listed: its cells are
 * not features) and offers a button that zooms there.
 *
 * Hooks: data-geomap="list-toggle" (the button), "list" (the panel; each row carries
 * data-geomap-key, the feature's key), "list-csv" (the download button), "list-note" and
 * "list-zoom" (a tiled layer below its full-detail zoom).
 */
(function (lib) {
  "use strict";
  var el = lib.dom.el;
  var ROW_PX = 26;
  var VIRTUAL_FROM = 400; // shorter lists keep every row in the DOM
  var ILLUSTRATIVE = "（示意）";

  // The topmost layer on the map with fields to list.
  function topmostEntry(map, state) {
    var best = null;
    state.layerList.forEach(function (entry) {
      var ld = entry.data;
      if (!map.hasLayer(entry.host) || (!ld.tooltip.length && ld.name < 0)) return;
      if (!best || ld.order > best.data.order) best = entry;
    });
    return best;
  }

  function columnsOf(ld) {
    var cols = [];
    if (ld.name >= 0) cols.push(ld.name);
    ld.tooltip.forEach(function (f) { if (cols.indexOf(f) < 0) cols.push(f); });
    return cols;
  }

  function keyOf(ld, i) {
    var k = ld.key >= 0 ? ld.values[ld.key][i] : null;
    return k === null || k === undefined ? String(i) : String(k);
  }

  function headerText(field) {
    var text = field.label + (field.unit ? "（" + field.unit + "）" : "");
    return field.basis === "illustrative" ? text + ILLUSTRATIVE : text;
  }

  // One CSV cell: quoted when needed; text a spreadsheet would run as a formula (= + - @,
  // tab, carriage return first) gets a leading apostrophe. Numbers stay numbers.
  function csvCell(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") return isFinite(v) ? String(v) : "";
    var s = String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
    if (/[",\r\n]/.test(s)) s = '"' + s.replace(/"/g, '""') + '"';
    return s;
  }

  function compare(a, b) {
    var na = a === null || a === undefined || a === "", nb = b === null || b === undefined || b === "";
    if (na || nb) return na === nb ? 0 : na ? 1 : -1; // empty cells last
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), "zh-CN", { numeric: true });
  }

  function create(map, state, filters) {
    var panel = el("div", "gm-list");
    panel.setAttribute("data-geomap", "list");
    panel.style.display = "none";
    var head = el("div", "gm-list-head");
    var title = el("div", "gm-list-title");
    var csv = el("button", "gm-list-csv", "下载CSV");
    csv.type = "button";
    csv.setAttribute("data-geomap", "list-csv");
    var close = el("button", "gm-list-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "关闭清单");
    head.appendChild(title);
    head.appendChild(csv);
    head.appendChild(close);
    // Under a tiled layer's full-detail zoom: what to do, and a button that does it.
    var note = el("div", "gm-list-note");
    note.setAttribute("data-geomap", "list-note");
    note.style.display = "none";
    var noteText = el("div");
    var zoomIn = el("button", "gm-list-zoom", "放大到可列出的级别");
    zoomIn.type = "button";
    zoomIn.setAttribute("data-geomap", "list-zoom");
    zoomIn.addEventListener("click", function () {
      if (current.entry && current.entry.data.tiles) {
        map.setZoom(current.entry.data.tiles.minZoom, { animate: false });
      }
    });
    note.appendChild(noteText);
    note.appendChild(zoomIn);
    var table = el("div", "gm-list-table");
    var header = el("div", "gm-list-row gm-list-header");
    var scroller = el("div", "gm-list-scroll");
    var spacer = el("div", "gm-list-spacer");
    var rowsBox = el("div", "gm-list-rows");
    spacer.appendChild(rowsBox);
    scroller.appendChild(spacer);
    table.appendChild(header);
    table.appendChild(scroller);
    panel.appendChild(head);
    panel.appendChild(note);
    panel.appendChild(table);
    map.getContainer().appendChild(panel);
    L.DomEvent.disableClickPropagation(panel);
    L.DomEvent.disableScrollPropagation(panel);

    var current = { entry: null, rows: [], cols: [], sortBy: -1, desc: false };
    var open = false;

    function cellText(ld, f, i) {
      return lib.dom.formatValue(ld.values[f][i], ld.fields[f].unit);
    }

    function renderRows() {
      var entry = current.entry;
      while (rowsBox.firstChild) rowsBox.removeChild(rowsBox.firstChild);
      if (!entry) return;
      var ld = entry.data, rows = current.rows, n = rows.length;
      var from = 0, to = n;
      if (n >= VIRTUAL_FROM) {
        spacer.style.height = n * ROW_PX + "px";
        from = Math.max(0, Math.floor(scroller.scrollTop / ROW_PX) - 5);
        to = Math.min(n, from + Math.ceil((scroller.clientHeight || 400) / ROW_PX) + 10);
        rowsBox.style.transform = "translateY(" + from * ROW_PX + "px)";
      } else {
        spacer.style.height = "";
        rowsBox.style.transform = "";
      }
      for (var r = from; r < to; r++) {
        var i = rows[r];
        var row = el("div", "gm-list-row");
        row.setAttribute("data-geomap-key", keyOf(ld, i));
        row.setAttribute("role", "button");
        current.cols.forEach(function (f) { row.appendChild(el("span", "gm-list-cell", cellText(ld, f, i))); });
        row.addEventListener("click", (function (i) {
          return function () { lib.search.show(map, state, entry, i); };
        })(i));
        rowsBox.appendChild(row);
      }
    }

    function sortRows() {
      var entry = current.entry;
      if (!entry || current.sortBy < 0) return;
      var vals = entry.data.values[current.sortBy], sign = current.desc ? -1 : 1;
      current.rows.sort(function (a, b) { return sign * compare(vals[a], vals[b]) || a - b; });
    }

    function renderHeader() {
      while (header.firstChild) header.removeChild(header.firstChild);
      var entry = current.entry;
      if (!entry) return;
      current.cols.forEach(function (f) {
        var mark = current.sortBy === f ? (current.desc ? " ▼" : " ▲") : "";
        var cell = el("button", "gm-list-cell gm-list-sort", headerText(entry.data.fields[f]) + mark);
        cell.type = "button";
        cell.addEventListener("click", function () {
          current.desc = current.sortBy === f ? !current.desc : false;
          current.sortBy = f;
          sortRows();
          renderHeader();
          renderRows();
        });
        header.appendChild(cell);
      });
    }

    function show(entry, rows, text) {
      current.rows = rows;
      current.cols = columnsOf(entry.data);
      if (current.cols.indexOf(current.sortBy) < 0) current.sortBy = -1;
      title.textContent = text;
      sortRows();
      renderHeader();
      scroller.scrollTop = 0;
      renderRows();
    }

    // A tiled layer's values are in its tiles: the list holds the features in the view,
    // read from the view's tiles from the full-detail zoom up (refreshed after each move);
    // below it, a note on how far to zoom in and a button that does. `asked` drops answers
    // overtaken by a later refresh.
    var asked = 0, settled = Promise.resolve();
    function refreshTiled(entry) {
      var ld = entry.data, mine = ++asked, answered;
      settled = new Promise(function (resolve) { answered = resolve; });
      entry.host.featuresInView(function (found) {
        answered();
        if (mine !== asked || current.entry !== entry || !open) return;
        note.style.display = found.rows ? "none" : "";
        zoomIn.style.display = found.below ? "" : "none";
        if (found.unreadable) {
          noteText.textContent = "「" + ld.title + "」的要素在矢量切片中，本地直接打开时无法读取，" +
            "清单不可用：请在图集目录运行 geomap serve 后用浏览器打开。";
          show(entry, [], "清单 · " + ld.title + "（需 geomap serve）");
          return;
        }
        if (found.rows) {
          show(entry, found.rows, "清单 · " + ld.title + "（当前视图内 " +
               found.rows.length.toLocaleString("zh-CN") + " 项）");
          return;
        }
        var z = Math.round(map.getZoom()), need = ld.tiles.minZoom;
        noteText.textContent = "「" + ld.title + "」共 " + ld.tiles.count.toLocaleString("zh-CN") +
          " 个" + ld.tiles.unit + "，清单列出当前视图内的" + ld.tiles.unit + "：请放大到第 " + need +
          " 级或以上（当前第 " + z + " 级，还需放大 " + Math.max(need - z, 1) + " 级）。";
        show(entry, [], "清单 · " + ld.title + "（请放大后查看）");
      });
    }

    // Rebuild from the topmost layer and its filter (keeps the sort column if it still exists).
    function refresh() {
      if (!open) return;
      var entry = topmostEntry(map, state);
      if (entry !== current.entry) { current.sortBy = -1; current.desc = false; }
      current.entry = entry;
      note.style.display = "none";
      if (!entry) {
        title.textContent = "清单：没有可列出的图层";
        current.rows = [];
        renderHeader();
        renderRows();
        return;
      }
      if (entry.data.tiles) { refreshTiled(entry); return; }
      var ld = entry.data, rows = [];
      for (var i = 0; i < ld.cls.length; i++) if (filters.shown(entry, i)) rows.push(i);
      show(entry, rows, "清单 · " + ld.title + "（" + rows.length + " 项）");
    }

    function toCsv() {
      var entry = current.entry;
      if (!entry) return "";
      var ld = entry.data;
      var lines = [current.cols.map(function (f) { return csvCell(headerText(ld.fields[f])); }).join(",")];
      current.rows.forEach(function (i) {
        lines.push(current.cols.map(function (f) { return csvCell(ld.values[f][i]); }).join(","));
      });
      return "\ufeff" + lines.join("\r\n") + "\r\n";
    }

    csv.addEventListener("click", function () {
      var entry = current.entry;
      if (!entry) return;
      var blob = new Blob([toCsv()], { type: "text/csv;charset=utf-8" });
      var a = el("a");
      a.href = URL.createObjectURL(blob);
      a.download = (entry.data.title || "清单") + ".csv";
      document.body.appendChild(a);
      a.click();
      document.body.removeChild(a);
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
    });

    scroller.addEventListener("scroll", function () {
      if (current.rows.length >= VIRTUAL_FROM) renderRows();
    });

    function setOpen(on) {
      open = on;
      panel.style.display = on ? "" : "none";
      map.getContainer().classList.toggle("gm-list-open", on);
      if (on) refresh();
    }
    close.addEventListener("click", function () { setOpen(false); });
    filters.onChange(function () { refresh(); });
    map.on("overlayadd overlayremove", refresh);
    // The features in view of a tiled layer change with the view.
    map.on("moveend", function () { if (current.entry && current.entry.data.tiles) refresh(); });

    return {
      toggle: function () { setOpen(!open); return open; },
      refresh: refresh,
      csv: toCsv,
      // Resolves once the latest listing of a tiled layer is shown (for tests).
      settled: function () { return settled; },
      isOpen: function () { return open; }
    };
  }

  lib.list = { create: create, csvCell: csvCell };
})(window.geomap.lib);
