// DuckDB peer for bench/peers/run_dominion_peers.sh: tallies a Dominion CVR export (a folder
// of CvrExport_N.json files) per contest and candidate, in one process, at one thread count.
//
// Usage: node duckdb_dominion_peer.mjs --folder DIR --threads T [--repetitions N]
//                                      [--temp-directory DIR] [--memory-limit SIZE]
//                                      [--diagnostics]
//        node duckdb_dominion_peer.mjs --version
//
// Every DIR/CvrExport_*.json file is one JSON object {"Version", "ElectionId", "Sessions":
// [...]}; read_json reads each file as one value (format='unstructured', records='true',
// the fields the tally needs typed, so no schema sampling and nothing else is built) with
// maximum_object_size = max(16 MiB, DuckDB's default; the largest file's bytes + 1 MiB).
// Then, as Canvass does:
//   a session's current version is Original unless Original.IsCurrent is false, then
//   Modified; its Cards, their Contests and their Marks are UNNESTed;
//   votes per (contest Id, CandidateId): the marks with IsVote and not IsAmbiguous and
//     Rank = 1;
//   per contest Id: sum(Overvotes), sum(Undervotes) (the figures the export states, which
//     Canvass takes for plurality contests) and the number of current contests (ballots).
// DuckDB does not apply the overvote rule (a plurality contest with more IsVote marks than
// VoteFor counts for nobody in Canvass); Dominion writes an overvoted contest's marks with
// IsVote false, so counting IsVote marks is the same tally. --diagnostics says whether that
// held (untimed, after the timed runs): a second and third query count the sessions, the
// adjudicated ones, and the current marks by kind, and the contests with more counted
// marks than their VoteFor (from DIR/ContestManifest.json).
//
// Prints one JSON object on stdout:
//   {"duckdb_version": "v1.5.6", "threads": T, "settings": {...}, "sql": "...",
//    "seconds": [...], "contests": {CONTEST: {"totals": {CANDIDATE: n, ...},
//                                            "overvotes": n, "undervotes": n, "ballots": n}},
//    "diagnostics": {...}, "diagnostics_sql": [...]}            (the last two: --diagnostics)
// or, when a query fails, {"duckdb_version": ..., "error": "..."} and exit status 3.
// Each time is the wall time of one query, from submitting the SQL to holding every result
// row in JavaScript; it excludes starting Node, loading DuckDB and opening the database.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const kDefaultObjectSize = 16777216;     // read_json's default maximum_object_size
const kMaximumObjectSize = 4294967295;  // the option is a UINTEGER

function ParseArguments(argv) {
  const options = {
    folder: null, threads: null, repetitions: 1, 'temp-directory': null, 'memory-limit': null,
    diagnostics: false, version: false,
  };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    if (flag === '--version' || flag === '--diagnostics') {
      options[flag.slice(2)] = true;
    } else if (['--folder', '--threads', '--repetitions', '--temp-directory',
                '--memory-limit'].includes(flag)) {
      if (i + 1 >= argv.length) throw new Error(`${flag}: expected a value`);
      options[flag.slice(2)] = argv[++i];
    } else {
      throw new Error(`unknown argument "${flag}"`);
    }
  }
  if (options.version) return options;
  if (!options.folder) throw new Error('--folder: required');
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

// The fields the tally reads, typed. A key the type does not name (ImageMask, ManifestationId,
// MarkDensity, ...) is skipped; one it names that a session lacks (Modified) is NULL.
const kMarkType =
    'STRUCT("CandidateId" BIGINT, "Rank" BIGINT, "IsAmbiguous" BOOLEAN, "IsVote" BOOLEAN)[]';
const kVersionType =
    `STRUCT("IsCurrent" BOOLEAN, "Cards" STRUCT("Contests" STRUCT("Id" BIGINT, ` +
    `"Overvotes" BIGINT, "Undervotes" BIGINT, "Marks" ${kMarkType})[])[])`;
const kSessionsType = `STRUCT("Original" ${kVersionType}, "Modified" ${kVersionType})[]`;

function Source(options) {
  const names = fs.readdirSync(options.folder).filter((n) => /^CvrExport_.*\.json$/.test(n));
  if (names.length === 0) throw new Error(`${options.folder}: no CvrExport_*.json files`);
  let largest = 0, bytes = 0;
  for (const name of names) {
    const size = fs.statSync(path.join(options.folder, name)).size;
    largest = Math.max(largest, size);
    bytes += size;
  }
  const maximumObjectSize =
      Math.min(kMaximumObjectSize, Math.max(kDefaultObjectSize, largest + 1048576));
  const glob = Quote(path.join(options.folder, 'CvrExport_*.json'));
  return {
    settings: {
      format: 'unstructured', records: 'true', columns: 'given',
      maximum_object_size: maximumObjectSize, files: names.length, file_bytes: bytes,
      largest_file_bytes: largest,
    },
    // One row a session, its current version (NULL when it has none).
    sql: `SELECT CASE WHEN s."Original"."IsCurrent" IS DISTINCT FROM false THEN s."Original" ` +
         `ELSE s."Modified" END AS v, s."Original"."IsCurrent" IS NOT DISTINCT FROM false AS modified ` +
         `FROM (SELECT unnest("Sessions") AS s FROM read_json(${glob}, format='unstructured', ` +
         `records='true', maximum_object_size=${maximumObjectSize}, ` +
         `columns={'Sessions': ${Quote(kSessionsType)}}))`,
  };
}

function TallySql(source) {
  // `contest` is read twice (marks, and the contests' own figures); DuckDB materializes it,
  // so the files are read once per query.
  return `WITH session AS (${source}),
card AS (SELECT unnest(v."Cards") AS c FROM session),
contest AS MATERIALIZED (SELECT unnest(c."Contests") AS k FROM card),
mark AS (SELECT k."Id" AS contest, unnest(k."Marks") AS m FROM contest)
SELECT contest, m."CandidateId" AS candidate, count(*) AS votes,
       NULL AS overvotes, NULL AS undervotes, NULL AS ballots
  FROM mark WHERE m."IsVote" AND NOT m."IsAmbiguous" AND m."Rank" = 1
  GROUP BY contest, candidate
UNION ALL
SELECT k."Id", NULL, NULL, sum(k."Overvotes"), sum(k."Undervotes"), count(*)
  FROM contest GROUP BY k."Id"`;
}

// Untimed: what the tally assumed. Marks by kind, in the current versions only.
function DiagnosticsSql(source, folder) {
  const counted = 'm -> m."IsVote" AND NOT m."IsAmbiguous" AND m."Rank" = 1';
  const manifest = Quote(path.join(folder, 'ContestManifest.json'));
  return [
    `WITH session AS (${source})
SELECT count(*) AS sessions, count(*) FILTER (WHERE modified) AS adjudicated,
       count(*) FILTER (WHERE v IS NULL) AS no_current_version
  FROM session`,
    `WITH session AS (${source}),
card AS (SELECT unnest(v."Cards") AS c FROM session),
contest AS (SELECT unnest(c."Contests") AS k FROM card),
manifest AS (SELECT unnest("List") AS e FROM read_json(${manifest}, format='unstructured',
             records='true', columns={'List': 'STRUCT("Id" BIGINT, "VoteFor" BIGINT)[]'})),
figures AS (
  SELECT k."Id" AS id, k."Overvotes" AS overvotes, len(k."Marks") AS marks,
         len(list_filter(k."Marks", ${counted})) AS counted,
         len(list_filter(k."Marks", m -> NOT m."IsVote" AND NOT m."IsAmbiguous")) AS not_votes,
         len(list_filter(k."Marks", m -> m."IsAmbiguous")) AS ambiguous,
         len(list_filter(k."Marks", m -> m."Rank" IS DISTINCT FROM 1)) AS rank_not_1
  FROM contest)
SELECT sum(marks) AS marks, sum(counted) AS counted_marks,
       sum(not_votes) AS unambiguous_not_vote_marks, sum(ambiguous) AS ambiguous_marks,
       sum(rank_not_1) AS rank_not_1_marks,
       count(*) FILTER (WHERE overvotes > 0) AS contests_stating_overvotes,
       count(*) FILTER (WHERE counted > e."VoteFor") AS contests_counted_over_vote_for,
       count(*) FILTER (WHERE e."VoteFor" IS NULL) AS contests_not_in_manifest
  FROM figures LEFT JOIN manifest ON e."Id" = figures.id`,
  ];
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
  // Every run reads the files itself (from the page cache), as Canvass does.
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
    duckdb_version: version, threads: options.threads,
    settings: {
      threads: options.threads, enable_external_file_cache: false, memory_limit: memoryLimit,
      ...source.settings,
    },
    overvote_rule: false, sql, seconds: [], contests: null,
  };
  const fail = (error) => {
    console.log(JSON.stringify({ duckdb_version: version, threads: options.threads,
                                 settings: result.settings, error: error.message }));
    process.exit(3);
  };
  for (let r = 0; r < options.repetitions; ++r) {
    const start = process.hrtime.bigint();
    let rows;
    try {
      rows = (await connection.runAndReadAll(sql)).getRowsJS();
    } catch (error) {
      fail(error);
    }
    result.seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    const contests = {};
    for (const [contest, candidate, votes, overvotes, undervotes, ballots] of rows) {
      const entry = (contests[String(contest)] ??=
                     { totals: {}, overvotes: 0, undervotes: 0, ballots: 0 });
      if (candidate !== null) {
        entry.totals[String(candidate)] = Number(votes);
      } else {
        Object.assign(entry, { overvotes: Number(overvotes ?? 0),
                               undervotes: Number(undervotes ?? 0), ballots: Number(ballots) });
      }
    }
    result.contests = contests;
  }
  if (options.diagnostics) {
    result.diagnostics_sql = DiagnosticsSql(source.sql, options.folder);
    result.diagnostics = {};
    try {
      for (const query of result.diagnostics_sql) {
        const reader = await connection.runAndReadAll(query);
        const names = reader.columnNames();
        reader.getRowsJS()[0].forEach((value, i) => {
          result.diagnostics[names[i]] = Number(value ?? 0);
        });
      }
    } catch (error) {
      fail(error);
    }
  }
  console.log(JSON.stringify(result));
}

Main().catch((error) => {
  console.error(`duckdb_dominion_peer: ${error.message}`);
  process.exit(2);
});
