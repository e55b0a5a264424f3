// A module resolve hook, registered by kalium.mjs only when kalium runs from its own sources: every
// import resolves with the `kalium-source` export condition (package.json maps it to libs/*.ts).
export async function resolve(specifier, context, next) {
  return next(specifier, { ...context, conditions: [...context.conditions, 'kalium-source'] });
}
