import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['collector/test/**/*.test.ts', 'snippet/test/**/*.test.ts', 'e2e/**/*.test.ts'],
    // Browser and store tests start servers and Chromium: give them room on 2 cores.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['e2e/support/global-setup.ts'],
    fileParallelism: true,
    maxWorkers: 2,
  },
});
