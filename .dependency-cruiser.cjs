/**
 * The layering the architecture promises (docs/architecture.md), checked by test/architecture:
 * no import cycles (type-only imports count), nothing below the CLI imports it, and every module in
 * src/ is used by the program itself (test-only code lives in test/).
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'cli-is-the-top',
      severity: 'error',
      comment: 'Targets, checks, core, model and renderers never import the CLI.',
      from: { path: '^src/(targets|checks|core|model|render|record|sim)/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'one-factory-knows-the-kinds',
      severity: 'error',
      comment: 'Commands and checks reach a target through src/targets/index.ts, never a kind directly.',
      from: { path: '^src/(cli|checks|core|render|record|model)/' },
      to: { path: '^src/targets/(local|cluster)/' },
    },
    {
      name: 'target-kinds-apart',
      severity: 'error',
      comment:
        'Neither target kind imports the other: what both need lives in src/model, src/manifests (the steps\' ' +
        'objects, rendered) or another neutral module.',
      from: { path: '^src/targets/(local|cluster)/' },
      to: { path: '^src/targets/(local|cluster)/', pathNot: '^src/targets/$1/' },
    },
    {
      name: 'core-and-model-are-neutral',
      severity: 'error',
      comment: 'The shared model, the core and the manifest renderer depend on no target, check or output renderer.',
      from: { path: '^src/(core|model|manifests)/' },
      to: { path: '^src/(targets|checks|render|record|cli)/' },
    },
    {
      name: 'renderers-decide-nothing',
      severity: 'error',
      comment: 'Renderers and recordings read events; they import no target and no check.',
      from: { path: '^src/(render|record)/' },
      to: { path: '^src/(targets|checks)/' },
    },
    {
      name: 'used-by-the-program',
      severity: 'error',
      comment: 'Every module in src/ is reachable from an entry point: code only tests use lives in test/.',
      from: { path: '^src/(cli/entry|cli/main|targets/local/component|sim/provider-sim|sim/inference-sim|targets/local/postgres)\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(cli/entry|cli/main|targets/local/component|sim/provider-sim|sim/inference-sim|targets/local/postgres)\\.ts$', reachable: false },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|test|bench)/' },
  },
};
