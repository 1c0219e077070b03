/* geomap client: hit testing for the layers Leaflet draws.
 *
 * The feature under the cursor wins: the topmost layer first, within it the nearest mark,
 * of equally near marks the one drawn last. (The fast layer, fast.js, does the same with
 * its own index.)
 */
(function (lib) {
  "use strict";

  // -- hit testing for the layers Leaflet draws -------------------------------------------
  // Leaflet's canvas renderer gives a mouse event to the last-drawn shape that contains it,
  // so on a dense point layer the cursor on one house names a neighbour drawn later. This
  // renderer picks instead: the topmost layer (gmOrder) first; within it the nearest mark
  // (a point's centre, a line's stroke; containing polygons at distance 0); of equally near
  // ones the one drawn last. Shapes whose gmHidden is set are neither drawn nor hit.
  function distanceOf(layer, point) {
    if (layer._radius !== undefined && layer._point) return layer._point.distanceTo(point);
    if (layer instanceof L.Polygon) return 0;
    if (layer.closestLayerPoint) {
      var q = layer.closestLayerPoint(point);
      return q ? q.distance : Infinity;
    }
    return 0;
  }

  var GeomapCanvas = L.Canvas.extend({
    pick: function (point) {
      var best = null, bestOrder = -Infinity, bestD = Infinity;
      for (var o = this._drawFirst; o; o = o.next) {
        var layer = o.layer;
        if (!layer.options.interactive || layer.gmHidden || !layer._containsPoint(point)) continue;
        var order = layer.gmOrder === undefined ? -1 : layer.gmOrder;
        if (order < bestOrder) continue;
        var d = distanceOf(layer, point);
        if (order > bestOrder || d <= bestD) { best = layer; bestOrder = order; bestD = d; }
      }
      return best;
    },

    _onClick: function (e) {
      var point = this._map.mouseEventToLayerPoint(e);
      var layer = this.pick(point);
      if (layer && (e.type === "click" || e.type === "preclick") && this._map._draggableMoved(layer)) {
        layer = null;
      }
      this._fireEvent(layer ? [layer] : false, e);
    },

    // Leaflet drops mouse moves within 32 ms of the last one, so a cursor coming to rest
    // right after a move could keep a neighbour's tooltip; the last dropped move is handled
    // when the 32 ms are over.
    _handleMouseHover: function (e, point) {
      if (this._mouseHoverThrottled) { this._pendingHover = [e, point]; return; }
      var candidate = this.pick(point);
      if (candidate !== this._hoveredLayer) {
        this._handleMouseOut(e);
        if (candidate) {
          L.DomUtil.addClass(this._container, "leaflet-interactive");
          this._fireEvent([candidate], e, "mouseover");
          this._hoveredLayer = candidate;
        }
      }
      this._fireEvent(this._hoveredLayer ? [this._hoveredLayer] : false, e);
      this._mouseHoverThrottled = true;
      setTimeout(L.Util.bind(function () {
        this._mouseHoverThrottled = false;
        var pending = this._pendingHover;
        this._pendingHover = null;
        if (pending && this._map) this._handleMouseHover(pending[0], pending[1]);
      }, this), 32);
    },

    _handleMouseOut: function (e) {
      if (e && e.type === "mouseout") this._pendingHover = null; // the mouse left the map
      L.Canvas.prototype._handleMouseOut.call(this, e);
    },

    _updatePoly: function (layer, closed) {
      if (!layer.gmHidden) L.Canvas.prototype._updatePoly.call(this, layer, closed);
    },

    _updateCircle: function (layer) {
      if (!layer.gmHidden) L.Canvas.prototype._updateCircle.call(this, layer);
    }
  });

  // The feature under (lat, lng) as the arbiter picks it: the topmost shown layer with a
  // hit, and in it the nearest mark. [layer id, feature index] or null. Used by tests; a
  // point off-screen is first brought into view (as a mouse would need).
  function hitAt(map, state, lat, lng) {
    var ll = L.latLng(lat, lng), best = null, renderer = state.renderer;
    if (!map.getBounds().pad(-0.1).contains(ll)) map.panTo(ll, { animate: false });
    var picked = renderer && renderer._map ? renderer.pick(map.latLngToLayerPoint(ll)) : null;
    if (picked) {
      Object.keys(state.layers).forEach(function (id) {
        if (state.layers[id].data.order === picked.gmOrder) {
          best = { id: id, i: picked.gmIndex, order: picked.gmOrder };
        }
      });
    }
    Object.keys(state.layers).forEach(function (id) {
      var entry = state.layers[id];
      if (!entry.host.hitAt || !map.hasLayer(entry.host)) return;
      if (best && best.order > entry.data.order) return;
      var i = entry.host.hitAt(ll);
      if (i >= 0) best = { id: id, i: i, order: entry.data.order };
    });
    return best ? [best.id, best.i] : null;
  }

  lib.HitCanvas = GeomapCanvas;
  lib.hittest = { hitAt: hitAt };
})(window.geomap.lib);
