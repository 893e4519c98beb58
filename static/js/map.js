/* Results on a Leaflet map. Progressive: the list is the real content; without tiles
   (offline, blocked) the markers still show and the list stays usable. */
(function () {
  "use strict";

  function draw() {
    var element = document.getElementById("map");
    var data = document.getElementById("map-points");
    if (!element || !data || !window.L || element.dataset.ready) {
      return;
    }
    element.dataset.ready = "1";
    var points = JSON.parse(data.textContent || "[]");
    var map = L.map(element, { scrollWheelZoom: false });
    L.tileLayer(element.dataset.tiles, {
      maxZoom: 19,
      attribution: element.dataset.attribution,
    }).addTo(map);
    var bounds = [];
    points.forEach(function (point) {
      var marker = L.marker([point.lat, point.lon], { title: point.name, alt: point.name });
      var popup = document.createElement("div");
      var link = document.createElement("a");
      link.href = point.url;
      link.textContent = point.name;
      var address = document.createElement("div");
      address.textContent = point.address;
      popup.appendChild(link);
      popup.appendChild(address);
      marker.bindPopup(popup).addTo(map);
      bounds.push([point.lat, point.lon]);
    });
    if (element.dataset.origin) {
      var origin = JSON.parse(element.dataset.origin);
      L.circleMarker(origin, { radius: 8, color: "#a3261b", weight: 3 }).addTo(map);
      bounds.push(origin);
    }
    if (bounds.length) {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15 });
    } else {
      map.setView([51.3671, 7.4633], 12);
    }
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
  document.addEventListener("htmx:beforeRequest", function (event) {
    var live = document.getElementById("search-live");
    if (live && event.target.id === "search") { live.setAttribute("aria-busy", "true"); }
  });
  document.addEventListener("htmx:afterSettle", function () {
    var live = document.getElementById("search-live");
    if (live) { live.setAttribute("aria-busy", "false"); }
  });
})();
