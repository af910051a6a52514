// The live stream (GET /stream, Server-Sent Events) read with fetch, because EventSource
// cannot send the bearer token. Resumes after a drop from the last event id it saw
// (Last-Event-ID), so no change is missed; a 410 (the feed no longer reaches back that
// far) starts over: `onReset` reloads the board. A silent connection (the API pings every
// 15 s) is dropped after 45 s and reopened.

import { authHeaders, fresh } from './api.js';

const SILENCE_MS = 45_000;
const MAX_BACKOFF_MS = 30_000;

export class LiveStream {
  /** `params`: query string of /stream (site, kind); handlers: onEvent(name, data, id),
   * onReady() (board to load), onStatus('live'|'connecting'|'down'), onUnauthorized(). */
  constructor({ params = '', onEvent, onReady, onStatus, onUnauthorized }) {
    Object.assign(this, { params, onEvent, onReady, onStatus, onUnauthorized });
    this.lastId = null;
    this.stopped = false;
    this.controller = null;
  }

  start() {
    this.stopped = false;
    this.#loop();
  }

  stop() {
    this.stopped = true;
    this.controller?.abort();
  }

  async #loop() {
    let backoff = 1000;
    while (!this.stopped) {
      this.onStatus?.('connecting');
      const outcome = await this.#connect();
      if (this.stopped || outcome === 'unauthorized') return;
      if (outcome === 'reset') this.lastId = null;
      if (outcome === 'opened') backoff = 1000;
      this.onStatus?.('down');
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  async #connect() {
    await fresh().catch(() => {}); // unreachable: the fetch below finds out and backs off
    const controller = (this.controller = new AbortController());
    const headers = { Accept: 'text/event-stream', ...authHeaders() };
    if (this.lastId !== null) headers['Last-Event-ID'] = this.lastId;
    let watchdog = 0;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), SILENCE_MS);
    };
    try {
      arm();
      const response = await fetch(`/stream${this.params}`, {
        headers,
        signal: controller.signal,
        cache: 'no-store',
      });
      if (response.status === 401) {
        this.onUnauthorized?.();
        return 'unauthorized';
      }
      if (response.status === 410) return 'reset';
      if (!response.ok || !response.body) return 'failed';
      this.onStatus?.('live');
      await this.#read(response.body, arm);
      return 'opened';
    } catch {
      return 'failed';
    } finally {
      clearTimeout(watchdog);
    }
  }

  async #read(body, arm) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new EventParser((event) => this.#dispatch(event));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      arm();
      parser.push(value);
    }
  }

  #dispatch({ id, event, data }) {
    if (id !== undefined) this.lastId = id;
    if (event === 'ready') {
      this.onReady?.();
      return;
    }
    let payload = null;
    try {
      payload = data ? JSON.parse(data) : null;
    } catch {
      return; // not ours to show: the API only sends JSON
    }
    this.onEvent?.(event || 'message', payload, id);
  }
}

/** The text/event-stream format: fields per line, an empty line ends an event, lines
 * starting with ':' are comments (the API's keep-alive pings). */
export class EventParser {
  constructor(emit) {
    this.emit = emit;
    this.buffer = '';
    this.event = {};
  }

  push(chunk) {
    let text = this.buffer + chunk;
    // A chunk may end between the \r and \n of one line end: wait for the next one.
    const held = text.endsWith('\r') ? '\r' : '';
    if (held) text = text.slice(0, -1);
    const lines = text.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() + held;
    for (const line of lines) this.#line(line);
  }

  #line(line) {
    if (line === '') {
      if (this.event.data !== undefined || this.event.event !== undefined) this.emit(this.event);
      this.event = {};
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.event.data = this.event.data === undefined ? value : `${this.event.data}\n${value}`;
    else if (field === 'event') this.event.event = value;
    else if (field === 'id') this.event.id = value;
  }
}
