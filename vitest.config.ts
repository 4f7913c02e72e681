import { defineConfig } from 'vitest/config';

// One run, two kinds of files: unit tests beside their modules, and the property suites, whose
// budgets are sized so that the whole of `npm test` stays under five minutes on two cores.
export default defineConfig({
  test: {
    include: ['{model,impl,properties,traces,cli,bench,tools}/**/*.test.ts'],
    setupFiles: ['tools/vitest-setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
