// Shift-drag draws a rectangle; releasing lists it. Escape cancels a drag in progress.
import * as L from "leaflet";

const SHAPE_STYLE: L.PathOptions = { color: "#7c3aed", weight: 2, fillOpacity: 0.08, interactive: false };

export class RectangleDrawer {
  private start?: L.LatLng;
  private shape?: L.Rectangle;

  constructor(
    private readonly map: L.Map,
    private readonly onDrawn: (shape: L.Rectangle) => void,
  ) {
    const container = map.getContainer();
    // Capture the press before Leaflet's dragging sees it, so the map does not pan.
    container.addEventListener("mousedown", (event) => this.down(event), true);
    document.addEventListener("mousemove", (event) => this.move(event));
    document.addEventListener("mouseup", (event) => this.up(event));
  }

  /** Says whether a rectangle is being dragged. */
  isDrawing(): boolean {
    return this.start !== undefined;
  }

  /** Drops the rectangle being dragged. */
  cancel(): void {
    this.shape?.remove();
    this.reset();
  }

  private down(event: MouseEvent): void {
    if (!event.shiftKey || event.button !== 0) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    this.start = this.map.mouseEventToLatLng(event);
    this.shape = L.rectangle(L.latLngBounds(this.start, this.start), SHAPE_STYLE).addTo(this.map);
    this.map.getContainer().classList.add("drawing");
  }

  private move(event: MouseEvent): void {
    if (this.start !== undefined && this.shape !== undefined) {
      this.shape.setBounds(L.latLngBounds(this.start, this.map.mouseEventToLatLng(event)));
    }
  }

  private up(event: MouseEvent): void {
    if (this.start === undefined || this.shape === undefined) {
      return;
    }
    const end = this.map.mouseEventToLatLng(event);
    const shape = this.shape;
    shape.setBounds(L.latLngBounds(this.start, end));
    this.reset();
    if (this.map.latLngToContainerPoint(shape.getBounds().getNorthWest())
        .distanceTo(this.map.latLngToContainerPoint(shape.getBounds().getSouthEast())) < 4) {
      shape.remove(); // A shift-click, not a drag.
      return;
    }
    this.onDrawn(shape);
  }

  private reset(): void {
    this.start = undefined;
    this.shape = undefined;
    this.map.getContainer().classList.remove("drawing");
  }
}
