// Route mode: clicked points make a route; finishing sends it to RecordRoute in one
// request and shows the summary. Escape cancels.
import * as L from "leaflet";
import { recordRoute } from "./client";
import { count, latLng, type PointE7 } from "./geo";
import { byId, clearError, showError } from "./ui";

export class RouteDrawer {
  private points: PointE7[] = [];
  private readonly line = L.polyline([], { color: "#c2410c", weight: 3, dashArray: "6 4", interactive: false });
  private drawing = false;

  constructor(private readonly map: L.Map) {
    byId("route-mode").addEventListener("click", () => (this.drawing ? this.cancel() : this.start()));
    byId("route-finish").addEventListener("click", () => void this.finish());
  }

  /** Says whether clicks add route points. */
  isDrawing(): boolean {
    return this.drawing;
  }

  /** Starts a new route. */
  start(): void {
    clearError();
    this.drawing = true;
    this.points = [];
    this.line.setLatLngs([]).addTo(this.map);
    byId("route-mode").setAttribute("aria-pressed", "true");
    byId("map").classList.add("drawing");
    byId("route").hidden = false;
    byId("route-summary").hidden = true;
    this.update("drawing", "Click points on the map, then Finish route (Esc cancels).");
  }

  /** Adds a point to the route being drawn. */
  add(point: PointE7): void {
    this.points.push(point);
    this.line.addLatLng(latLng(point));
    byId<HTMLButtonElement>("route-finish").disabled = false;
    this.update("drawing", `${this.points.length} ${this.points.length === 1 ? "point" : "points"}; Finish route sends them (Esc cancels).`);
  }

  /** Drops the route being drawn. */
  cancel(): void {
    this.stop();
    this.line.remove();
    byId("route").hidden = true;
    this.update("cancelled", "");
  }

  private stop(): void {
    this.drawing = false;
    byId("route-mode").setAttribute("aria-pressed", "false");
    byId<HTMLButtonElement>("route-finish").disabled = true;
    byId("map").classList.remove("drawing");
  }

  private async finish(): Promise<void> {
    const points = this.points;
    this.stop();
    byId("route").dataset.points = points.map((p) => `${p.latitude},${p.longitude}`).join(";");
    this.update("sending", `Sending ${points.length} points to RecordRoute…`);
    try {
      const summary = await recordRoute(points);
      const set = (id: string, value: number, text: string) => {
        byId(id).textContent = text;
        byId(id).dataset.value = String(value);
      };
      set("summary-points", summary.pointCount, count(summary.pointCount));
      set("summary-features", summary.featureCount, count(summary.featureCount));
      const km = summary.distance >= 1000 ? ` (${(summary.distance / 1000).toFixed(1)} km)` : "";
      set("summary-distance", summary.distance, `${count(summary.distance)} m${km}`);
      set("summary-time", summary.elapsedTime, `${count(summary.elapsedTime)} s`);
      byId("route-summary").hidden = false;
      this.update("done", "RecordRoute's summary:");
    } catch (error) {
      this.update("error", "RecordRoute failed.");
      showError(error);
    }
  }

  private update(state: string, text: string): void {
    byId("route").dataset.state = state;
    byId("route-status").textContent = text;
  }
}
