// A test reporter that counts the top-level PostgreSQL suites (those named for postgres) that ran
// and those that were skipped, and writes the counts as one JSON line when the run ends.
// scripts/run-tests.mjs prints them, and fails the run when they are required and did not all run.
export default async function* postgresSuites(source) {
  const counts = { ran: 0, skipped: 0 };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, nesting, skip } = event.data;
    if (nesting !== 0 || !/\bpostgres\b/i.test(name)) continue;
    if (skip !== undefined && skip !== false) counts.skipped += 1;
    else counts.ran += 1;
  }
  yield `${JSON.stringify(counts)}\n`;
}
