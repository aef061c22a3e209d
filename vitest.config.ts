import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // ink switches to a static one-frame mode when it believes it runs in CI; the TUI tests check the
    // interactive terminal, so the workers see CI=false (the CLI-spawning helpers set CI=1 themselves).
    env: { CI: 'false' },
    reporters: ['default'],
  },
});
