// The land outline and country borders, bundled, so the map means something offline.
import * as L from "leaflet";
import { feature, mesh } from "topojson-client";
import countries from "world-atlas/countries-50m.json";

/** Leaflet passes `renderer` on to the paths it makes; its types do not say so. */
type CanvasGeoJSONOptions = L.GeoJSONOptions & { renderer: L.Renderer };

/** Draws land (filled unless tiles lie underneath) and country borders on a canvas. */
export function addLand(map: L.Map, filled: boolean): void {
  const renderer = L.canvas({ padding: 0.5 });
  const land = feature(countries, countries.objects.land);
  const landOptions: CanvasGeoJSONOptions = {
    renderer,
    interactive: false,
    style: {
      color: "#7f97a8",
      weight: 1,
      fillColor: "#f3f0e6",
      fillOpacity: filled ? 1 : 0,
    },
  };
  L.geoJSON(land, landOptions).addTo(map);
  const borders = mesh(countries, countries.objects.countries, (a, b) => a !== b);
  const borderOptions: CanvasGeoJSONOptions = {
    renderer,
    interactive: false,
    style: { color: "#a9b4bf", weight: 0.7, fill: false },
  };
  L.geoJSON(borders, borderOptions).addTo(map);
  map.attributionControl.addAttribution("Land: Natural Earth");
}
