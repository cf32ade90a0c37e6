import { defineConfig, type Plugin } from 'vite';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/**
 * Writes `.br` and `.gz` beside every text asset so that the server (@fastify/static's
 * `preCompressed`) can send them as they are: compressed once at build time, never per request.
 */
function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'ferry-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    async closeBundle() {
      const walk = async (dir: string): Promise<string[]> =>
        (await readdir(dir, { withFileTypes: true })).flatMap((entry) =>
          entry.isDirectory() ? [] : [join(dir, entry.name)],
        );
      const files = [...(await walk(outDir)), ...(await walk(join(outDir, 'assets')).catch(() => []))];
      for (const file of files.filter((name) => /\.(?:js|css|html|svg|json)$/.test(name))) {
        const body = await readFile(file);
        // Below about a packet, compression saves nothing worth a second file.
        if (body.length < 1024) continue;
        await writeFile(`${file}.gz`, gzipSync(body, { level: 9 }));
        await writeFile(
          `${file}.br`,
          brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
        );
      }
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  // Everything is bundled from node_modules: the app must work on a local network with no internet.
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline module-preload polyfill script: the server's CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
    rolldownOptions: {
      onwarn(warning, warn) {
        // React Query's 'use client' marks server components; there are none in a browser bundle.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  oxc: { jsx: { runtime: 'automatic' } },
  plugins: [precompress()],
});
