#!/usr/bin/env -S node --max-semi-space-size=16
// Ferry runs its TypeScript sources directly, which needs Node.js 24 (type stripping and node:sqlite).
// The V8 flag matches .npmrc's node-options (docs/architecture.md, "Runtime flags").
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `ferry needs Node.js 24 or later; this is ${process.version}. Run it through npm (npm run ferry -- ...), ` +
      'which uses the project-local Node 24, or install Node 24.',
  );
  process.exit(1);
}
await import('../src/cli/main.ts');
