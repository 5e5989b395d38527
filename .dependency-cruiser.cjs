// The layers of src/ and the one direction their imports may take:
//   domain, destinations <- storage <- services <- http, cli, webhooks (the delivery worker)
// with errors.ts below everything and the composition root (main, app, cluster, bootstrap) above.
// `npm test` runs this check first (scripts/check-dependencies.mjs); docs/architecture.md explains it.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycle, type-only imports included.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'domain/ holds plain types and rules: it imports only domain/ and errors.ts, and no I/O.',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: ['^src/domain/', '^src/errors\\.ts$'] },
    },
    {
      name: 'domain-no-io',
      severity: 'error',
      comment: 'domain/ does no I/O: no database, network, file or process module, no npm package.',
      from: { path: '^src/(domain|schemas)/' },
      to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'], pathNot: ['^(node:)?crypto$', '^node_modules/(typebox|@sinclair/typebox|ajv)/'] },
    },
    {
      name: 'destinations-are-pure',
      severity: 'error',
      comment: 'destinations/ turns events into each tool\'s requests and reads its answers: it imports only domain/, destinations/ and errors.ts, and sends nothing itself.',
      from: { path: '^src/destinations/' },
      to: { path: '^src/', pathNot: ['^src/domain/', '^src/destinations/', '^src/errors\\.ts$'] },
    },
    {
      name: 'destinations-no-io',
      severity: 'error',
      from: { path: '^src/destinations/' },
      to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'], pathNot: ['^(node:)?crypto$'] },
    },
    {
      name: 'schemas-below-http-and-cli',
      severity: 'error',
      comment: 'schemas/ describes wire input for http/ and cli/: it imports only domain/ and errors.ts.',
      from: { path: '^src/schemas/' },
      to: { path: '^src/', pathNot: ['^src/domain/', '^src/schemas/', '^src/errors\\.ts$'] },
    },
    {
      name: 'storage-runs-queries',
      severity: 'error',
      comment: 'storage/ knows no service, HTTP, CLI or webhook-worker module.',
      from: { path: '^src/storage/' },
      to: { path: '^src/(services|http|cli|webhooks|schemas)/|^src/(app|main|cluster|bootstrap|metrics|logger)\\.ts$' },
    },
    {
      name: 'services-below-their-callers',
      severity: 'error',
      comment: 'services/ is called by http/, cli/ and the worker, never the other way.',
      from: { path: '^src/services/' },
      to: { path: '^src/(http|cli|webhooks|schemas)/|^src/(app|main|cluster|bootstrap|metrics|logger)\\.ts$' },
    },
    {
      name: 'cli-not-http',
      severity: 'error',
      comment: 'The CLI calls the same services as the routes, never the HTTP layer.',
      from: { path: '^src/cli/' },
      to: { path: '^src/http/|^src/app\\.ts$' },
    },
    {
      name: 'http-not-cli-or-worker',
      severity: 'error',
      comment: 'Routes call services; they do not reach into the CLI or the delivery worker.',
      from: { path: '^src/http/' },
      to: { path: '^src/(cli|webhooks)/' },
    },
    {
      name: 'worker-not-http-or-cli',
      severity: 'error',
      from: { path: '^src/webhooks/' },
      to: { path: '^src/(http|cli)/|^src/app\\.ts$' },
    },
    {
      name: 'errors-at-the-bottom',
      severity: 'error',
      comment: 'errors.ts is the catalogue every layer uses; it imports nothing of ours.',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle through types is still a cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
