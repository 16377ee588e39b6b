// The demo store (real HTTP, real SQLite in a fresh temporary folder) delivering to a local
// Graph API stand-in that enforces Meta's contract: what most end-to-end tests run against.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemo, type DemoOptions, type DemoServer } from '../../collector/src/demo/demo-server.js';
import { startMetaGraphMock, type RunningMetaGraphMock } from '../../collector/src/mocks/meta-graph.js';

export interface MetaDemo {
  mock: RunningMetaGraphMock;
  demo: DemoServer;
  dataDir: string;
  /** Stops the demo, then the mock, and deletes the data folder. */
  close(): Promise<void>;
}

export interface MetaDemoOptions {
  /** Prefix of the temporary data folder's name. */
  tmpPrefix: string;
  /** The pixel and token the mock accepts and the demo delivers with. */
  pixelId: string;
  accessToken: string;
  /** More demo options; the dispatcher polls every 100 ms unless `dispatch` says otherwise. */
  demo?: Omit<DemoOptions, 'port' | 'dataDir' | 'meta'>;
}

export async function startMetaDemo(opts: MetaDemoOptions): Promise<MetaDemo> {
  const dataDir = mkdtempSync(join(tmpdir(), opts.tmpPrefix));
  let mock: RunningMetaGraphMock | undefined;
  try {
    mock = await startMetaGraphMock({ accessToken: opts.accessToken, pixelId: opts.pixelId });
    const demo = await startDemo({
      port: 0,
      dataDir,
      meta: { baseUrl: mock.url, pixelId: opts.pixelId, accessToken: opts.accessToken },
      dispatch: { pollMs: 100 },
      ...opts.demo,
    });
    const running = mock;
    return {
      mock: running,
      demo,
      dataDir,
      async close() {
        await demo.close();
        await running.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await mock?.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
