// A module resolve hook for kalium's own repository, where kalium runs from its TypeScript sources:
// `kalium`, `kalium/client` and `kalium/cli` resolve to the sources instead of the built dist/ that
// package.json's exports name. One copy of every class is then loaded (the runtime's and the app's), so
// `instanceof` holds. Registered by kalium.mjs when it runs from source, and by register-source.mjs
// for the repository's tests and benches. Nothing outside the repository uses it.
const SOURCES = {
  kalium: new URL('../../libs/kalium/index.ts', import.meta.url).href,
  'kalium/client': new URL('../../libs/client/index.ts', import.meta.url).href,
  'kalium/cli': new URL('./kalium.mjs', import.meta.url).href,
};

export async function resolve(specifier, context, next) {
  // Handed on, not short-circuited: tsx resolves the .ts file itself, so it also loads it.
  return next(SOURCES[specifier] ?? specifier, context);
}
