// DuckDB peer for bench/peers/run_peers.sh: times a GROUP BY choice and an exactly-once
// count over one ballot CSV, in one process, at one thread count.
//
// Usage: node duckdb_peer.mjs --file FILE --threads T [--repetitions N]
//        node duckdb_peer.mjs --version
//
// Prints one JSON object on stdout:
//   {"duckdb_version": "v1.5.6", "threads": T,
//    "group_by": {"seconds": [...], "counts": {"JAL": n, ...}},
//    "exactly_once": {"seconds": [...], "distinct": n}}
// Each time is the wall time of one query, from submitting the SQL to holding every result
// row in JavaScript (parse, plan, read the CSV from the page cache, aggregate). It excludes
// starting Node, loading DuckDB and opening the in-memory database, which happen once.
import { DuckDBInstance } from '@duckdb/node-api';

function ParseArguments(argv) {
  const options = { file: null, threads: null, repetitions: 3, version: false };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    if (flag === '--version') {
      options.version = true;
    } else if (flag === '--file' || flag === '--threads' || flag === '--repetitions') {
      if (i + 1 >= argv.length) throw new Error(`${flag}: expected a value`);
      options[flag.slice(2)] = argv[++i];
    } else {
      throw new Error(`unknown argument "${flag}"`);
    }
  }
  if (options.version) return options;
  if (!options.file) throw new Error('--file: required');
  for (const name of ['threads', 'repetitions']) {
    const value = Number(options[name]);
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`--${name}: expected an integer >= 1, got "${options[name]}"`);
    }
    options[name] = value;
  }
  return options;
}

// A SQL string literal: single quotes doubled.
function Quote(text) {
  return `'${text.replaceAll("'", "''")}'`;
}

async function TimeQuery(connection, sql) {
  const start = process.hrtime.bigint();
  const reader = await connection.runAndReadAll(sql);
  const rows = reader.getRowsJS();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds, rows };
}

async function Main() {
  const options = ParseArguments(process.argv.slice(2));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const version = (await connection.runAndReadAll('SELECT version()')).getRowsJS()[0][0];
  if (options.version) {
    console.log(version);
    return;
  }
  await connection.run(`SET threads=${options.threads}`);
  // Every run reads the file itself, as the other tools do (all from the page cache); the
  // external file cache would otherwise keep the CSV's bytes between repetitions.
  await connection.run('SET enable_external_file_cache=false');
  const source = `read_csv(${Quote(options.file)}, header=true, ` +
                 `columns={'station':'VARCHAR','seq':'UBIGINT','choice':'VARCHAR'})`;
  const groupBySql = `SELECT choice, count(*) FROM ${source} GROUP BY choice`;
  const exactlyOnceSql = `SELECT count(DISTINCT (station, seq)) FROM ${source}`;
  const result = {
    duckdb_version: version,
    threads: options.threads,
    group_by: { sql: groupBySql, seconds: [], counts: null },
    exactly_once: { sql: exactlyOnceSql, seconds: [], distinct: null },
  };
  for (let r = 0; r < options.repetitions; ++r) {
    const groupBy = await TimeQuery(connection, groupBySql);
    result.group_by.seconds.push(groupBy.seconds);
    result.group_by.counts = Object.fromEntries(
        groupBy.rows.map(([choice, count]) => [choice, Number(count)]));
    const exactlyOnce = await TimeQuery(connection, exactlyOnceSql);
    result.exactly_once.seconds.push(exactlyOnce.seconds);
    result.exactly_once.distinct = Number(exactlyOnce.rows[0][0]);
  }
  console.log(JSON.stringify(result));
}

Main().catch((error) => {
  console.error(`duckdb_peer: ${error.message}`);
  process.exit(2);
});
