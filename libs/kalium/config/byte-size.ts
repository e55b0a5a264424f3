const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** Parses `1048576`, `512kb`, `10mb`, `1gb` (case-insensitive, binary units); undefined when malformed. */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()]!;
  return Number.isSafeInteger(Math.floor(value)) ? Math.floor(value) : undefined;
}
