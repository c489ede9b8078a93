// Small DOM helpers shared by the panels, and the one place errors are shown.
import { describe, isUnauthenticated } from "./errors";

/** Returns the element with `id`, which the page's HTML always has. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) {
    throw new Error(`the page has no #${id}`);
  }
  return element as T;
}

/** Returns a new element with a class and text. */
export function span(className: string, text: string): HTMLSpanElement {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

/** Shows a failed call as "STATUS: message"; asks for a token when the server wants one. */
export function showError(error: unknown): void {
  const box = byId("error");
  box.textContent = describe(error);
  box.hidden = false;
  if (isUnauthenticated(error)) {
    byId("token-form").hidden = false;
    byId<HTMLInputElement>("token").focus();
  }
}

/** Hides the last error, when the user starts something new. */
export function clearError(): void {
  const box = byId("error");
  box.hidden = true;
  box.textContent = "";
}
