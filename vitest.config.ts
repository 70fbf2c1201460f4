import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Test files run in parallel processes on the machine's cores already; the native
    // kernels' own threads would oversubscribe them. test/threads.test.ts sets 2 itself.
    env: { GLEKIT_THREADS: '1' },
  },
});
