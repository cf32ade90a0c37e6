#!/usr/bin/env -S node --max-semi-space-size=16
// The `ferry` command (npx ferry, npm link, npm install -g). Ferry runs its TypeScript sources
// directly, which needs Node.js 24 (type stripping and node:sqlite). The V8 flag matches .npmrc's
// node-options (docs/architecture.md, "Runtime flags").
//
// This file is plain JavaScript that any Node parses: on an older Node (the system's Node, when
// `ferry` is on the PATH through a global install) it runs itself again on the project's own
// Node 24, the `node` package that `npm install` puts in node_modules; without one it says that
// Node 24 is needed and exits 1.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NEEDED_MAJOR = 24;
const RUNTIME_FLAGS = ['--max-semi-space-size=16'];
/** Set in the re-run's environment, so a project Node that is somehow old too cannot loop. */
const RERUN_MARK = 'FERRY_BIN_RERUN';

const major = Number(process.versions.node.split('.')[0]);
if (major < NEEDED_MAJOR) {
  const projectNode = process.env[RERUN_MARK] ? undefined : findProjectNode();
  if (projectNode) {
    rerunOn(projectNode);
  } else {
    console.error(
      `ferry needs Node.js ${NEEDED_MAJOR}; this is ${process.version} (${process.execPath}).\n` +
        `Run 'npm install' in Ferry's directory (it brings the project's own Node ${NEEDED_MAJOR}), ` +
        `or install Node.js ${NEEDED_MAJOR}.`,
    );
    process.exit(1);
  }
} else {
  await runFerry();
}

/**
 * The project's Node 24: the `node` package resolved from this file's real location, so it is found
 * through npm link's and a global install's symlinks and from any working directory.
 */
function findProjectNode() {
  try {
    const binFile = realpathSync(fileURLToPath(import.meta.url));
    const nodePackage = createRequire(binFile).resolve('node/package.json');
    const candidate = join(dirname(nodePackage), 'bin', 'node');
    return existsSync(candidate) ? candidate : undefined;
  } catch {
    return undefined;
  }
}

function rerunOn(node) {
  const script = realpathSync(fileURLToPath(import.meta.url));
  const child = spawn(node, [...RUNTIME_FLAGS, script, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, [RERUN_MARK]: '1' },
  });
  // A terminal's Ctrl-C reaches the whole foreground process group, the child included, so SIGINT
  // is only kept from ending this process before the child has shut down (passing it on would be a
  // second SIGINT, which skips the server's clean stop). SIGTERM and SIGHUP, sent to this process
  // alone by a supervisor, are passed on.
  process.on('SIGINT', () => {});
  for (const signal of ['SIGTERM', 'SIGHUP']) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('error', (error) => {
    console.error(`ferry: could not start the project's Node.js (${node}): ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      // End the same way, so a caller sees the signal and not a made-up status.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

async function runFerry() {
  let cli;
  try {
    cli = await import('../src/cli/main.ts');
  } catch (error) {
    // Node does not strip types from files under node_modules: a copy installed from a tarball or
    // the registry cannot run; a linked checkout (npm link, npm install -g <directory>) can.
    if (error?.code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING') {
      console.error(
        'ferry runs its TypeScript sources, which Node.js will not do inside node_modules.\n' +
          "Install it from a checkout with 'npm link' or 'npm install -g <checkout directory>' instead.",
      );
      process.exit(1);
    }
    throw error;
  }
  await cli.runMain(process.argv.slice(2));
}
