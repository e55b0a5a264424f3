/**
 * The model process's wire format (kept in step with libs/python/kalium/frames.py): an 8-byte prefix
 * (the header's and the body's lengths, unsigned 32-bit big-endian), a UTF-8 JSON header holding the
 * message type `t`, then the body's raw bytes. Bodies never go through JSON, so a binary or large
 * payload is one copy, not a base64 round trip.
 */
export const PROTOCOL_VERSION = 1;
export const PREFIX_BYTES = 8;
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;
export const MAX_BODY_BYTES = 1024 * 1024 * 1024;

export interface FrameHeader {
  t: string;
  [field: string]: unknown;
}

export interface Frame {
  header: FrameHeader;
  body: Buffer;
}

/** The other side wrote something that is not a frame of this protocol: the stream cannot be trusted after it. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** One frame as the buffers to write, in order (the body is not copied). */
export function encodeFrame(header: FrameHeader, body: Buffer = EMPTY): Buffer[] {
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  if (head.length > MAX_HEADER_BYTES) throw new ProtocolError(`frame header of ${head.length} bytes is over ${MAX_HEADER_BYTES}`);
  if (body.length > MAX_BODY_BYTES) throw new ProtocolError(`frame body of ${body.length} bytes is over ${MAX_BODY_BYTES}`);
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  prefix.writeUInt32BE(head.length, 0);
  prefix.writeUInt32BE(body.length, 4);
  return body.length > 0 ? [prefix, head, body] : [prefix, head];
}

const EMPTY = Buffer.alloc(0);

/**
 * Cuts a byte stream into frames, whatever the chunking: a frame split over many chunks, or many
 * frames in one chunk. A bad length or header throws ProtocolError.
 */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Header and body length of the frame being read, once its prefix is in. */
  #pending: { header: number; body: number } | undefined;

  push(chunk: Buffer): Frame[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (!this.#pending) {
        if (this.#buffered < PREFIX_BYTES) break;
        const prefix = this.#take(PREFIX_BYTES);
        this.#pending = lengths(prefix);
      }
      const { header, body } = this.#pending;
      if (this.#buffered < header + body) break;
      this.#pending = undefined;
      const bytes = this.#take(header + body);
      frames.push({ header: parseHeader(bytes.subarray(0, header)), body: bytes.subarray(header) });
    }
    return frames;
  }

  /** Bytes read but not yet a whole frame (at the end of a stream, anything here was cut off). */
  get buffered(): number {
    return this.#buffered + (this.#pending ? PREFIX_BYTES : 0);
  }

  #take(size: number): Buffer {
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.length >= size) {
      out = first.subarray(0, size);
      if (first.length === size) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(size);
    } else {
      const all = Buffer.concat(this.#chunks, this.#buffered);
      out = all.subarray(0, size);
      this.#chunks = all.length > size ? [all.subarray(size)] : [];
    }
    this.#buffered -= size;
    return out;
  }
}

function lengths(prefix: Buffer): { header: number; body: number } {
  const header = prefix.readUInt32BE(0);
  const body = prefix.readUInt32BE(4);
  if (header === 0 || header > MAX_HEADER_BYTES) throw new ProtocolError(`frame header length ${header} is out of range`);
  if (body > MAX_BODY_BYTES) throw new ProtocolError(`frame body length ${body} is out of range`);
  return { header, body };
}

function parseHeader(bytes: Buffer): FrameHeader {
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ProtocolError(`frame header is not JSON: ${(error as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || typeof (header as FrameHeader).t !== 'string') {
    throw new ProtocolError('frame header has no message type');
  }
  return header as FrameHeader;
}
