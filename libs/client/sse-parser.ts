/** One Server-Sent Event. */
export interface ServerSentEvent {
  /** The `event:` field; `message` when the server sent none. */
  event: string;
  /** The `data:` lines, joined by newlines. */
  data: string;
  /** The `id:` field in effect (the last one seen), if any. */
  id: string | undefined;
}

/**
 * An incremental parser of the `text/event-stream` format (WHATWG HTML §9.2.6): feed it text as it
 * arrives, in chunks cut anywhere, and take the events each chunk completes. Handles LF, CRLF and CR
 * line ends, comments, multi-line data and a CRLF split across two chunks.
 */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #lastId: string | undefined;

  /** Parses a chunk; returns the events it completed. */
  push(chunk: string): ServerSentEvent[] {
    this.#buffer += chunk;
    const events: ServerSentEvent[] = [];
    for (;;) {
      const end = this.#buffer.search(/\r\n|\r|\n/);
      if (end < 0) break;
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk to know.
      if (this.#buffer[end] === '\r' && end === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + (this.#buffer.startsWith('\r\n', end) ? 2 : 1));
      const event = this.#line(line);
      if (event) events.push(event);
    }
    return events;
  }

  /** The stream ended: an event without its closing blank line is dropped, as the spec says. */
  end(): ServerSentEvent[] {
    this.#buffer = '';
    this.#event = '';
    this.#data = [];
    return [];
  }

  #line(line: string): ServerSentEvent | undefined {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#lastId = value;
    return undefined;
  }

  #dispatch(): ServerSentEvent | undefined {
    const event = { event: this.#event || 'message', data: this.#data.join('\n'), id: this.#lastId };
    const hadData = this.#data.length > 0;
    this.#event = '';
    this.#data = [];
    return hadData ? event : undefined;
  }
}
