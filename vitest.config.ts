import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Compiles the current sources into dist/ once per run (and fails the run on a type error), so
    // tests that start the CLI or the hops as processes never run an older build.
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // ink switches to a static one-frame mode when it believes it runs in CI; the TUI tests check the
    // interactive terminal, so the workers see CI=false (the CLI-spawning helpers set CI=1 themselves).
    // Whether the run itself is in CI stays visible as MAAS_EGRESS_DEMO_TEST_IN_CI (test/helpers/prereq.ts).
    env: { CI: 'false', MAAS_EGRESS_DEMO_TEST_IN_CI: isCi(process.env.CI) ? '1' : '' },
    reporters: ['default'],
  },
});

function isCi(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}
