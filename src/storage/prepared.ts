import { type Compilable, type CompiledQuery, createQueryId, type Kysely } from 'kysely';

const slot = (index: number) => `\u0000crosswalk-slot-${index}\u0000`;

/**
 * A query built and compiled once, run many times with new values. Building and compiling a query
 * costs more than SQLite takes to run it, and the hot paths run the same few shapes over and over.
 * `build` receives stand-in values; each stand-in must be passed as a query value (never as an
 * identifier) so that it ends up among the compiled parameters, where the real value replaces it.
 */
export class PreparedQuery<Row> {
  private compiled: CompiledQuery<Row> | undefined;
  private positions: number[] = [];

  constructor(
    private readonly arity: number,
    private readonly build: (...values: string[]) => Compilable<Row>,
  ) {}

  /** Runs on `db`, which may be a transaction of the database the query was first compiled for. */
  async execute(db: Kysely<any>, values: readonly unknown[]): Promise<Row[]> {
    if (!this.compiled) {
      const slots = Array.from({ length: this.arity }, (_, i) => slot(i));
      const compiled = this.build(...slots).compile();
      this.positions = compiled.parameters.map((parameter) => {
        return typeof parameter === 'string' ? slots.indexOf(parameter) : -1;
      });
      this.compiled = compiled;
    }
    const compiled = this.compiled;
    const parameters = compiled.parameters.map((parameter, i) => {
      const index = this.positions[i]!;
      return index >= 0 ? values[index] : parameter;
    });
    const result = await db.executeQuery<Row>({ ...compiled, parameters, queryId: createQueryId() });
    return result.rows;
  }
}

/** The prepared query cached under `key` for this database, built on first use. */
export function preparedQuery<Row>(
  cache: Map<string, PreparedQuery<any>>,
  key: string,
  arity: number,
  build: (...values: string[]) => Compilable<Row>,
): PreparedQuery<Row> {
  let query = cache.get(key) as PreparedQuery<Row> | undefined;
  if (!query) {
    query = new PreparedQuery(arity, build);
    cache.set(key, query);
  }
  return query;
}

/** Which of the two addressing values a query filters on; queries are prepared per shape. */
export function addressShape(address: { profileId?: string; customerUserId?: string }): string {
  return `${address.profileId === undefined ? '' : 'p'}${address.customerUserId === undefined ? '' : 'c'}`;
}
