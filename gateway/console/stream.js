// The domain-event stream read over fetch rather than EventSource, which cannot send the
// Authorization header. It resumes with Last-Event-ID after a disconnect, so the console misses
// nothing that happened while it was away, and backs off while the server is unreachable.

export class EventStream {
  constructor(api, { types = "", onEvent, onStatus }) {
    this.api = api;
    this.types = types;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.lastId = null;
    this.controller = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    this.controller?.abort();
  }

  async loop() {
    let backoff = 1000;
    while (!this.stopped) {
      try {
        await this.connect();
        backoff = 1000;
      } catch (error) {
        if (this.stopped) return;
        if (error?.status === 401 && !(await this.api.refresh())) return;
      }
      if (this.stopped) return;
      this.onStatus("retrying");
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, 30000);
    }
  }

  async connect() {
    this.controller = new AbortController();
    const query = this.types ? `?types=${encodeURIComponent(this.types)}` : "";
    const headers = { authorization: `Bearer ${this.api.accessToken}`, accept: "text/event-stream" };
    if (this.lastId !== null) headers["last-event-id"] = this.lastId;
    const answer = await fetch(`/v1/events${query}`, { headers, signal: this.controller.signal });
    if (!answer.ok) throw { status: answer.status };
    this.onStatus("live");
    const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        this.dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  // One SSE block: `id:`, `event:` and `data:` lines; comments (keep-alives) start with ':'.
  dispatch(block) {
    let id = null;
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") type = value;
      else if (field === "data") data.push(value);
    }
    if (data.length === 0) return;
    if (id !== null) this.lastId = id;
    try {
      this.onEvent(type, JSON.parse(data.join("\n")));
    } catch {
      // A payload that is not JSON is not ours to show.
    }
  }
}
