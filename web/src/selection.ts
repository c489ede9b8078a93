// The selected point: a click asks GetFeature there and shows the feature or "no feature
// here"; the notes panel writes at this point.
import * as L from "leaflet";
import { getFeature, listFeatures } from "./client";
import { formatPoint, latLng, MAX_LATITUDE_E7, MAX_LONGITUDE_E7, type PointE7 } from "./geo";
import { byId, clearError, showError } from "./ui";

export class Selection {
  private readonly marker: L.CircleMarker;
  private lookup?: AbortController;

  constructor(
    private readonly map: L.Map,
    private readonly onSelect: (point: PointE7) => void,
  ) {
    this.marker = L.circleMarker([0, 0], {
      radius: 11,
      color: "#c2410c",
      weight: 3,
      fill: false,
      interactive: false,
    });
  }

  /** Selects `point` and shows what GetFeature answers there. */
  async select(point: PointE7): Promise<void> {
    clearError();
    this.lookup?.abort();
    const lookup = new AbortController();
    this.lookup = lookup;
    // A typed point off the map (the server will say what is wrong with it) gets no ring.
    if (Math.abs(point.latitude) <= MAX_LATITUDE_E7 && Math.abs(point.longitude) <= MAX_LONGITUDE_E7) {
      this.marker.setLatLng(latLng(point)).addTo(this.map);
    } else {
      this.marker.remove();
    }
    this.onSelect(point);
    const text = byId("selected");
    text.dataset.state = "loading";
    text.dataset.lat = String(point.latitude);
    text.dataset.lon = String(point.longitude);
    text.textContent = `Looking at ${formatPoint(point)}…`;
    try {
      const feature = await getFeature(point);
      const at = formatPoint(feature.location ?? point);
      let answer: string;
      let state: string;
      if (feature.name !== "") {
        [answer, state] = [`Feature “${feature.name}” at ${at}`, "feature"];
      } else if (await this.hasFeature(point, lookup.signal)) {
        // GetFeature answers an empty name for an unnamed feature and for none at all.
        [answer, state] = [`Unnamed feature at ${at}`, "unnamed"];
      } else {
        [answer, state] = [`No feature here (${at})`, "none"];
      }
      if (this.lookup === lookup) {
        text.textContent = answer;
        text.dataset.state = state;
        text.dataset.name = feature.name;
      }
    } catch (error) {
      if (this.lookup === lookup) {
        text.textContent = `Nothing known at ${formatPoint(point)}: the call failed.`;
        text.dataset.state = "error";
        showError(error);
      }
    }
  }

  /** Returns whether a feature lies exactly at `point` (ListFeatures over the point). */
  private async hasFeature(point: PointE7, signal: AbortSignal): Promise<boolean> {
    const listing = await listFeatures({ lo: point, hi: point }, 1, signal);
    return listing.features.length > 0;
  }
}
