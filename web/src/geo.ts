// E7 coordinates (degrees × 10^7, as on the wire), rectangles and how they are shown.
import * as L from "leaflet";

export interface PointE7 {
  latitude: number;
  longitude: number;
}

export interface RectE7 {
  lo: PointE7;
  hi: PointE7;
}

const E7 = 1e7;
const MAX_LATITUDE = 90;
const MAX_LONGITUDE = 180;
/** The largest valid latitude and longitude magnitudes in E7, as the server checks them. */
export const MAX_LATITUDE_E7 = MAX_LATITUDE * E7;
export const MAX_LONGITUDE_E7 = MAX_LONGITUDE * E7;
/** The largest magnitude in degrees whose E7 value still fits the wire's int32. */
const INT32_DEGREES = 214;

/** Returns the E7 value of `degrees`, rounded as the CLI rounds. */
export function toE7(degrees: number): number {
  return Math.round(degrees * E7);
}

/** Returns `e7` in degrees with seven decimals, as the CLI prints it. */
export function degrees(e7: number): string {
  return (e7 / E7).toFixed(7);
}

/** Returns "LAT, LON" in degrees. */
export function formatPoint(point: PointE7): string {
  return `${degrees(point.latitude)}, ${degrees(point.longitude)}`;
}

/** Returns the Leaflet position of a wire point. */
export function latLng(point: PointE7): L.LatLng {
  return L.latLng(point.latitude / E7, point.longitude / E7);
}

/** Returns the wire point of a map position, its longitude brought into [-180, 180]. */
export function pointAt(position: L.LatLng): PointE7 {
  const wrapped = position.wrap();
  return { latitude: toE7(wrapped.lat), longitude: toE7(wrapped.lng) };
}

/**
 * Returns the point typed as "LAT, LON" (or "LAT LON") in degrees, or an error text.
 * Values out of the map's range are sent anyway: the server says what is wrong with them.
 */
export function parsePoint(text: string): PointE7 | string {
  const parts = text.trim().split(/[\s,]+/);
  const values = parts.map(Number);
  if (parts.length !== 2 || values.some((v) => !Number.isFinite(v))) {
    return "type a point as LAT, LON in degrees, e.g. 40.9146138, -74.6188906";
  }
  if (values.some((v) => Math.abs(v) > INT32_DEGREES)) {
    return `a coordinate of ${text.trim()} is beyond ±${INT32_DEGREES}°, which the wire cannot carry`;
  }
  return { latitude: toE7(values[0]), longitude: toE7(values[1]) };
}

/** Returns the wire rectangle of map bounds, clamped to valid latitudes and longitudes. */
export function rectOf(bounds: L.LatLngBounds): RectE7 {
  const clamp = (v: number, limit: number) => Math.max(-limit, Math.min(limit, v));
  let west = bounds.getWest();
  let east = bounds.getEast();
  if (east - west >= 2 * MAX_LONGITUDE) {
    west = -MAX_LONGITUDE;
    east = MAX_LONGITUDE;
  }
  return {
    lo: {
      latitude: toE7(clamp(bounds.getSouth(), MAX_LATITUDE)),
      longitude: toE7(clamp(west, MAX_LONGITUDE)),
    },
    hi: {
      latitude: toE7(clamp(bounds.getNorth(), MAX_LATITUDE)),
      longitude: toE7(clamp(east, MAX_LONGITUDE)),
    },
  };
}

/** Returns the map bounds of a wire rectangle. */
export function boundsOf(rect: RectE7): L.LatLngBounds {
  return L.latLngBounds(latLng(rect.lo), latLng(rect.hi));
}

/** Returns `n` with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}
