// DuckDB peer for bench/peers/run_cvr_peers.sh: tallies a NIST SP 1500-103 cast vote record
// report per reporting unit, contest and selection, in one process, at one thread count.
//
// Usage: node duckdb_cvr_peer.mjs --file FILE --layout report|ndjson --threads T
//                                 [--repetitions N] [--temp-directory DIR]
//                                 [--memory-limit SIZE]
//        node duckdb_cvr_peer.mjs --version
//
// --layout report: FILE is the CVR report as written, one top-level JSON object whose "CVR"
//   array holds the records; DuckDB reads it as one value and the CVR array is UNNESTed.
//   DuckDB's JSON reader holds an object in a buffer of 2 * maximum_object_size bytes (taken
//   from its memory limit up front) and refuses an object over 2 * maximum_object_size - 4
//   bytes; the option is a UINTEGER (at most 4 GiB - 1, so no object over ~8 GiB is read).
//   It is set to the least that holds the file, max(16 MiB, its default; bytes / 2 + 1 MiB).
// --layout ndjson: FILE holds the same records one CVR object per line (DuckDB's best case:
//   a newline-delimited file is split between threads; no object is larger than a record).
//
// Then, per record, its current snapshot (CVRSnapshot whose @id is CurrentSnapshotId), its
// CVRContest, CVRContestSelection and SelectionPosition are UNNESTed, and:
//   votes per (BallotStyleUnitId, ContestId, ContestSelectionId): sum(NumberVotes) over the
//     positions with HasIndication = 'yes' and IsAllocable = 'yes';
//   per (BallotStyleUnitId, ContestId): sum(Overvotes), sum(Undervotes) and the number of
//     records carrying the contest (ballots).
// The overvote rule (an overvoted contest's marks count for nobody) is NOT applied: on an
// overvoted contest DuckDB's selection totals include the overvoted marks.
//
// Prints one JSON object on stdout:
//   {"duckdb_version": "v1.5.6", "threads": T, "layout": "report", "settings": {...},
//    "sql": "...", "seconds": [...],
//    "units": {UNIT: {CONTEST: {"totals": {SEL: n, ...}, "overvotes": n, "undervotes": n,
//                               "ballots": n}}}}
// or, when the query fails, {"duckdb_version": ..., "error": "..."} and exit status 3.
// Each time is the wall time of one query, from submitting the SQL to holding every result
// row in JavaScript; it excludes starting Node, loading DuckDB and opening the database.
import fs from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const kMaximumObjectSize = 4294967295;  // read_json's maximum_object_size is a UINTEGER

function ParseArguments(argv) {
  const options = {
    file: null, layout: null, threads: null, repetitions: 1, 'temp-directory': null,
    'memory-limit': null,
    version: false,
  };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    if (flag === '--version') {
      options.version = true;
    } else if (['--file', '--layout', '--threads', '--repetitions', '--temp-directory',
                '--memory-limit'].includes(flag)) {
      if (i + 1 >= argv.length) throw new Error(`${flag}: expected a value`);
      options[flag.slice(2)] = argv[++i];
    } else {
      throw new Error(`unknown argument "${flag}"`);
    }
  }
  if (options.version) return options;
  if (!options.file) throw new Error('--file: required');
  if (options.layout !== 'report' && options.layout !== 'ndjson') {
    throw new Error(`--layout: expected report or ndjson, got "${options.layout}"`);
  }
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

// The fields the tally reads, typed, so DuckDB neither samples the file for a schema nor
// builds the fields it does not need (names, @type, CreatingDeviceId, ...).
const kSnapshotType =
    'STRUCT("@id" VARCHAR, "CVRContest" STRUCT("ContestId" VARCHAR, "Overvotes" BIGINT, ' +
    '"Undervotes" BIGINT, "CVRContestSelection" STRUCT("ContestSelectionId" VARCHAR, ' +
    '"SelectionPosition" STRUCT("HasIndication" VARCHAR, "IsAllocable" VARCHAR, ' +
    '"NumberVotes" BIGINT)[])[])[])[]';
const kRecordFields =
    `"BallotStyleUnitId" VARCHAR, "CurrentSnapshotId" VARCHAR, "CVRSnapshot" ${kSnapshotType}`;

function Source(options) {
  const file = Quote(options.file);
  if (options.layout === 'ndjson') {
    const columns = `{"BallotStyleUnitId": 'VARCHAR', "CurrentSnapshotId": 'VARCHAR', ` +
                    `"CVRSnapshot": ${Quote(kSnapshotType)}}`;
    return {
      settings: { format: 'newline_delimited', records: 'true', columns: 'given' },
      sql: `SELECT "BallotStyleUnitId", "CurrentSnapshotId", "CVRSnapshot" FROM ` +
           `read_json(${file}, format='newline_delimited', records='true', ` +
           `columns=${columns})`,
    };
  }
  const bytes = fs.statSync(options.file).size;
  const maximumObjectSize =
      Math.min(kMaximumObjectSize, Math.max(16777216, Math.ceil(bytes / 2) + 1048576));
  return {
    settings: {
      format: 'auto', records: 'true', columns: 'given', maximum_object_size: maximumObjectSize,
      file_bytes: bytes,
    },
    sql: `SELECT c."BallotStyleUnitId", c."CurrentSnapshotId", c."CVRSnapshot" FROM ` +
         `(SELECT unnest("CVR") AS c FROM read_json(${file}, format='auto', records='true', ` +
         `maximum_object_size=${maximumObjectSize}, ` +
         `columns={'CVR': ${Quote(`STRUCT(${kRecordFields})[]`)}}))`,
  };
}

function TallySql(source) {
  // `contest` is read twice (marks, and the contests' own figures); DuckDB materializes it,
  // so the file is read once per query.
  return `WITH cvr AS (${source}),
snapshot AS (
  SELECT "BallotStyleUnitId" AS unit, "CurrentSnapshotId" AS current, unnest("CVRSnapshot") AS s
  FROM cvr),
contest AS MATERIALIZED (
  SELECT unit, unnest(s."CVRContest") AS k FROM snapshot WHERE s."@id" = current),
selection AS (
  SELECT unit, k."ContestId" AS contest, unnest(k."CVRContestSelection") AS sel FROM contest),
position AS (
  SELECT unit, contest, sel."ContestSelectionId" AS selection, unnest(sel."SelectionPosition") AS p
  FROM selection)
SELECT unit, contest, selection, sum(p."NumberVotes") AS votes,
       NULL AS overvotes, NULL AS undervotes, NULL AS ballots
  FROM position WHERE p."HasIndication" = 'yes' AND p."IsAllocable" = 'yes'
  GROUP BY unit, contest, selection
UNION ALL
SELECT unit, k."ContestId", NULL, NULL, sum(k."Overvotes"), sum(k."Undervotes"), count(*)
  FROM contest GROUP BY unit, k."ContestId"`;
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
  // Every run reads the file itself (from the page cache), as Canvass does.
  await connection.run('SET enable_external_file_cache=false');
  if (options['memory-limit']) {
    await connection.run(`SET memory_limit=${Quote(options['memory-limit'])}`);
  }
  const memoryLimit = (await connection.runAndReadAll("SELECT current_setting('memory_limit')"))
      .getRowsJS()[0][0];
  if (options['temp-directory']) {
    await connection.run(`SET temp_directory=${Quote(options['temp-directory'])}`);
  }
  const source = Source(options);
  const sql = TallySql(source.sql);
  const result = {
    duckdb_version: version, threads: options.threads, layout: options.layout,
    settings: {
      threads: options.threads, enable_external_file_cache: false, memory_limit: memoryLimit,
      ...source.settings,
    },
    overvote_rule: false, sql, seconds: [], units: null,
  };
  for (let r = 0; r < options.repetitions; ++r) {
    const start = process.hrtime.bigint();
    let rows;
    try {
      rows = (await connection.runAndReadAll(sql)).getRowsJS();
    } catch (error) {
      console.log(JSON.stringify({ duckdb_version: version, threads: options.threads,
                                   layout: options.layout, settings: result.settings,
                                   error: error.message }));
      process.exit(3);
    }
    result.seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    const units = {};
    const cell = (unit, contest) => {
      units[unit] ??= {};
      return (units[unit][contest] ??= { totals: {}, overvotes: 0, undervotes: 0, ballots: 0 });
    };
    for (const [unit, contest, selection, votes, overvotes, undervotes, ballots] of rows) {
      const entry = cell(unit, contest);
      if (selection !== null) {
        entry.totals[selection] = Number(votes);
      } else {
        Object.assign(entry, { overvotes: Number(overvotes ?? 0),
                               undervotes: Number(undervotes ?? 0), ballots: Number(ballots) });
      }
    }
    result.units = units;
  }
  console.log(JSON.stringify(result));
}

Main().catch((error) => {
  console.error(`duckdb_cvr_peer: ${error.message}`);
  process.exit(2);
});
