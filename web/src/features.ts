// The features of the view (or of a drawn rectangle): markers on the map and the list in
// the side panel, at most LIST_LIMIT of them, with how many more there are.
import * as L from "leaflet";
import { isCancelled } from "./errors";
import type { Feature } from "./gen/route_guide_pb";
import { count, formatPoint, latLng, type PointE7, type RectE7 } from "./geo";
import { listFeatures, type Listing } from "./client";
import { byId, showError, span } from "./ui";

/** The most features one view or rectangle lists; the rest of the stream is cancelled. */
export const LIST_LIMIT = 500;

type Kind = "view" | "rectangle";

/** Returns what identifies a listing: its kind and rectangle. */
function key(rect: RectE7, kind: Kind): string {
  return `${kind} ${rect.lo.latitude} ${rect.lo.longitude} ${rect.hi.latitude} ${rect.hi.longitude}`;
}

const MARKER_STYLE: L.CircleMarkerOptions = {
  radius: 6,
  color: "#0b4f8a",
  weight: 1.5,
  fillColor: "#2f8fdf",
  fillOpacity: 0.85,
  bubblingMouseEvents: false,
};

export class FeatureLister {
  private readonly markers = L.layerGroup();
  private listing?: AbortController;
  private rectangle?: { rect: RectE7; shape: L.Rectangle };
  private queries = 0;
  /** The listing shown or under way, and whether it failed (then it may be asked again). */
  private current?: { key: string; failed: boolean };

  constructor(
    private readonly map: L.Map,
    private readonly viewRect: () => RectE7,
    private readonly onPick: (point: PointE7) => void,
  ) {
    this.markers.addTo(map);
    byId("rectangle-clear").addEventListener("click", () => this.clearRectangle());
  }

  /**
   * Lists the current view, unless a drawn rectangle is being shown or this very view is
   * already listed (or being listed): a map that settles twice on one view costs one call.
   */
  listView(): void {
    if (this.rectangle !== undefined) {
      return;
    }
    const rect = this.viewRect();
    if (this.current !== undefined && !this.current.failed && this.current.key === key(rect, "view")) {
      return;
    }
    void this.run(rect, "view");
  }

  /** Lists the drawn rectangle; `shape` stays on the map until the rectangle is cleared. */
  listRectangle(rect: RectE7, shape: L.Rectangle): void {
    this.rectangle?.shape.remove();
    this.rectangle = { rect, shape };
    byId("rectangle-clear").hidden = false;
    void this.run(rect, "rectangle");
  }

  /** Says whether a drawn rectangle is listed. */
  hasRectangle(): boolean {
    return this.rectangle !== undefined;
  }

  /** Removes the drawn rectangle and lists the view again. */
  clearRectangle(): void {
    this.rectangle?.shape.remove();
    this.rectangle = undefined;
    byId("rectangle-clear").hidden = true;
    this.listView();
  }

  private async run(rect: RectE7, kind: Kind): Promise<void> {
    this.listing?.abort();
    const listing = new AbortController();
    this.listing = listing;
    const query = ++this.queries;
    const current = { key: key(rect, kind), failed: false };
    this.current = current;
    const section = byId("features");
    Object.assign(section.dataset, {
      state: "loading",
      kind,
      query: String(query),
      loLat: String(rect.lo.latitude),
      loLon: String(rect.lo.longitude),
      hiLat: String(rect.hi.latitude),
      hiLon: String(rect.hi.longitude),
    });
    byId("features-title").textContent = kind === "view" ? "Features in view" : "Features in the rectangle";
    byId("features-status").textContent = "Loading…";
    try {
      const result = await listFeatures(rect, LIST_LIMIT, listing.signal);
      this.render(result, kind);
      section.dataset.state = "done";
    } catch (error) {
      if (listing.signal.aborted && isCancelled(error)) {
        return; // A newer listing replaced this one.
      }
      current.failed = true;
      section.dataset.state = "error";
      byId("features-status").textContent = "Listing failed.";
      showError(error);
    }
  }

  private render(result: Listing, kind: Kind): void {
    const where = kind === "view" ? "in view" : "in the rectangle";
    const shown = result.features.length;
    let status: string;
    if (!result.more) {
      status = shown === 0 ? `No features ${where}.` : `${count(shown)} ${shown === 1 ? "feature" : "features"} ${where}.`;
    } else if (result.total !== undefined) {
      const rest = result.total - shown;
      const how = kind === "view" ? "Zoom in" : "Draw a smaller rectangle";
      status = `Showing ${count(shown)} of ${count(result.total)} features ${where}. ${how} to see the other ${count(rest)}.`;
    } else {
      status = `Showing the first ${count(shown)} features ${where}; there are more: zoom in.`;
    }
    byId("features-status").textContent = status;
    const section = byId("features");
    section.dataset.shown = String(shown);
    section.dataset.total = result.total === undefined ? "" : String(result.total);

    this.markers.clearLayers();
    const list = document.createDocumentFragment();
    for (const feature of result.features) {
      const point = feature.location ?? { latitude: 0, longitude: 0 };
      list.append(this.item(feature, point));
      const label = feature.name === "" ? "(unnamed)" : feature.name;
      L.circleMarker(latLng(point), MARKER_STYLE)
        .bindTooltip(label)
        .on("click", () => this.onPick(point))
        .addTo(this.markers);
    }
    byId("feature-list").replaceChildren(list);
  }

  private item(feature: Feature, point: PointE7): HTMLLIElement {
    const item = document.createElement("li");
    item.dataset.lat = String(point.latitude);
    item.dataset.lon = String(point.longitude);
    item.dataset.name = feature.name;
    item.append(
      feature.name === "" ? span("name unnamed", "(unnamed)") : span("name", feature.name),
      span("coords", formatPoint(point)),
    );
    item.addEventListener("click", () => {
      // Panning would list the view again; a listed feature is in view unless it came
      // from a rectangle, which stays listed while the map moves.
      if (!this.map.getBounds().contains(latLng(point))) {
        this.map.panTo(latLng(point));
      }
      this.onPick(point);
    });
    return item;
  }
}
