// The notes panel: post a note at the selected point with a one-shot RouteChat and show
// the notes left there before it.
import { routeChat } from "./client";
import { formatPoint, type PointE7 } from "./geo";
import { byId, clearError, showError } from "./ui";

export class NotesPanel {
  private at?: PointE7;

  constructor() {
    byId("note-form").addEventListener("submit", (event) => {
      event.preventDefault();
      void this.post();
    });
  }

  /** Makes `point` the place new notes go; earlier notes show once a note is posted. */
  setLocation(point: PointE7): void {
    this.at = point;
    const text = byId<HTMLTextAreaElement>("note-text");
    text.disabled = false;
    text.placeholder = `A note at ${formatPoint(point)}`;
    byId<HTMLButtonElement>("note-post").disabled = false;
    byId("note-status").textContent = "Post a note to see the notes left here before it.";
    byId("note-status").dataset.state = "ready";
    byId("note-list").replaceChildren();
  }

  private async post(): Promise<void> {
    const text = byId<HTMLTextAreaElement>("note-text");
    const status = byId("note-status");
    if (this.at === undefined || text.value.trim() === "") {
      return;
    }
    clearError();
    const at = this.at;
    status.dataset.state = "posting";
    status.textContent = "Posting…";
    try {
      const earlier = await routeChat(at, text.value);
      text.value = "";
      const items = earlier.map((note) => {
        const item = document.createElement("li");
        item.textContent = note.message;
        return item;
      });
      byId("note-list").replaceChildren(...items);
      status.textContent =
        earlier.length === 0
          ? `Posted at ${formatPoint(at)}. No earlier notes here.`
          : `Posted at ${formatPoint(at)}. Earlier notes here, oldest first:`;
      status.dataset.state = "posted";
      status.dataset.earlier = String(earlier.length);
    } catch (error) {
      status.textContent = "The note was not posted.";
      status.dataset.state = "error";
      showError(error);
    }
  }
}
