// The map page: Leaflet with the bundled land outline (and tiles when the server offers
// them), the features of the view, rectangle listing, point lookup, routes and notes,
// all through gRPC-Web to the server that served the page.
import "./map.css";
import * as L from "leaflet";
import { setToken } from "./client";
import { RectangleDrawer } from "./draw";
import { FeatureLister } from "./features";
import {
  boundsOf,
  MAX_LATITUDE_E7,
  MAX_LONGITUDE_E7,
  parsePoint,
  pointAt,
  rectOf,
  type PointE7,
  type RectE7,
} from "./geo";
import { addLand } from "./land";
import { NotesPanel } from "./notes";
import { RouteDrawer } from "./route";
import { Selection } from "./selection";
import { byId, clearError } from "./ui";

/** What the server tells the page about itself (`/config.json`). */
interface PageConfig {
  features: number;
  extent: RectE7 | null;
  tiles: { urlTemplate: string; attribution: string } | null;
}

/** Zoom for a database whose features all sit at one point. */
const SINGLE_POINT_ZOOM = 12;
/** Milliseconds the view must rest before it is listed again. */
const SETTLE_MS = 150;

function escapeHtml(text: string): string {
  const element = document.createElement("span");
  element.textContent = text;
  return element.innerHTML;
}

async function start(): Promise<void> {
  const response = await fetch("config.json");
  const config = (await response.json()) as PageConfig;

  const map = L.map("map", { boxZoom: false, minZoom: 1, worldCopyJump: true });
  // For the browser tests and anyone at the console: the Leaflet map itself.
  (window as unknown as { routeguideMap: L.Map }).routeguideMap = map;
  if (config.tiles !== null) {
    L.tileLayer(config.tiles.urlTemplate, {
      attribution: escapeHtml(config.tiles.attribution),
      maxZoom: 19,
    }).addTo(map);
  }
  addLand(map, config.tiles === null);

  const notes = new NotesPanel();
  const selection = new Selection(map, (point) => notes.setLocation(point));
  const route = new RouteDrawer(map);
  const pick = (point: PointE7) => (route.isDrawing() ? route.add(point) : void selection.select(point));
  const lister = new FeatureLister(map, () => rectOf(map.getBounds()), pick);
  const drawer = new RectangleDrawer(map, (shape) => {
    clearError();
    lister.listRectangle(rectOf(shape.getBounds()), shape);
  });

  map.on("click", (event: L.LeafletMouseEvent) => {
    if (!event.originalEvent.shiftKey) {
      pick(pointAt(event.latlng));
    }
  });
  let settle: number | undefined;
  map.on("moveend", () => {
    window.clearTimeout(settle);
    settle = window.setTimeout(() => lister.listView(), SETTLE_MS);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") {
      return;
    }
    if (drawer.isDrawing()) {
      drawer.cancel();
    } else if (route.isDrawing()) {
      route.cancel();
    } else if (lister.hasRectangle()) {
      lister.clearRectangle();
    }
  });
  byId("goto").addEventListener("submit", (event) => {
    event.preventDefault();
    const point = parsePoint(byId<HTMLInputElement>("goto-point").value);
    if (typeof point === "string") {
      byId("error").textContent = point;
      byId("error").hidden = false;
      return;
    }
    if (Math.abs(point.latitude) <= MAX_LATITUDE_E7 && Math.abs(point.longitude) <= MAX_LONGITUDE_E7) {
      map.panTo(boundsOf({ lo: point, hi: point }).getCenter());
    }
    pick(point);
  });
  byId("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(byId<HTMLInputElement>("token").value);
    byId("token-form").hidden = true;
    clearError();
    lister.listView();
  });

  const extent = config.extent;
  if (extent === null) {
    map.setView([20, 0], 2);
  } else if (extent.lo.latitude === extent.hi.latitude && extent.lo.longitude === extent.hi.longitude) {
    map.setView(boundsOf(extent).getCenter(), SINGLE_POINT_ZOOM);
  } else {
    map.fitBounds(boundsOf(extent), { padding: [24, 24] });
  }
  lister.listView();
}

start().catch((error: unknown) => {
  byId("error").textContent = `The page could not start: ${String(error)}`;
  byId("error").hidden = false;
});
