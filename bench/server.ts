// A server for the benchmark, in its own process so the load generator doesn't share its
// event loop: `bare` is an Express app with one 204 route (the baseline), `collector`
// the real collector on a fresh SQLite file with dispatch off (ingest cost only).
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { createCollector } from '../collector/src/http/create-collector.js';
import { createLogger } from '../collector/src/log.js';

const mode = process.argv[2];
const app = express();
app.set('trust proxy', 'loopback');
if (mode === 'bare') {
  app.post('/t/e', express.text({ type: () => true }), (_req, res) => {
    res.status(204).end();
  });
} else if (mode === 'collector') {
  const collector = createCollector(
    {
      dataDir: mkdtempSync(join(tmpdir(), 'trakvo-bench-')),
      sites: [
        {
          id: 'bench',
          allowedOrigins: ['https://shop.example'],
          defaultCountry: 'BR',
          destinations: [{ id: 'meta', type: 'meta', pixelId: '1', accessToken: 'x' }],
        },
      ],
    },
    { dispatch: false, logger: createLogger('silent') },
  );
  app.use('/t', collector);
} else {
  console.error('usage: server.js bare|collector');
  process.exit(2);
}
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
