#!/usr/bin/env python3
"""Independent tally of a Dominion Democracy Suite CVR export (a folder, or a .zip of one).

Kept beside the tests as their oracle: written from the counting rules alone, it shares no
code with Canvass. Python 3 standard library only.

Rules:
- The export: `CvrExport*.json` files read in the natural order of their numbers
  (CvrExport_3 before CvrExport_12; a bare CvrExport.json first), and the manifests, each
  `{"Version": .., "List": [..]}`. Required: ContestManifest, CandidateManifest,
  PrecinctPortionManifest. Used when present: PrecinctManifest, DistrictManifest with
  DistrictPrecinctPortionManifest, CountingGroupManifest, OutstackConditionManifest.
  In a .zip the files may sit one folder level down.
- Contests: id = decimal `Id`; ranked when `NumOfRanks` >= 2, else plurality; `VoteFor`.
  Candidates: id = decimal `Id`, grouped by `ContestId` (a ContestId not in ContestManifest
  is an error of the export: the oracle stops).
- Units: `election`; `district-<Id>` (composing the portions that
  DistrictPrecinctPortionManifest lists for it); `precinct-<Id>` (composing the portions whose
  `PrecinctId` it is); `portion-<Id>`; with a CountingGroupManifest, `group-<Id>` and the
  leaves `portion-<P>/group-<G>`, else the portions are the leaves. A counted ballot adds once
  to every unit above its leaf: the leaf, its portion, its precinct, each district listing
  its portion, its counting group, `election`.
- A session: identity (TabulatorId, BatchId, RecordId), each required and compared as text
  (RecordId 5 and "5" are one identity). Its current version is `Original`, unless Original
  says `"IsCurrent": false`: then `Modified`, which must exist and not say
  `"IsCurrent": false` (else: malformed). A counted ballot with a copy read from Modified
  is `adjudicated` (any copy, so that the figure does not depend on the copies' order). The version's `PrecinctPortionId` (required) with the session's
  `CountingGroupId` (when there is a CountingGroupManifest) names the leaf.
- The version's contests: those of every card in `Cards`, or the version's own `Contests`
  when it has no `Cards`. A contest twice in one session: malformed.
- A contest whose `OutstackConditionIds` hold the id that OutstackConditionManifest gives
  the Description "InvalidContest" (read from the manifest, never assumed) adds 1 to its
  `#invalid` cell and nothing else. Its marks are still checked against the manifest.
- Otherwise a mark is a vote when `IsVote` is true and `IsAmbiguous` is not, and, in a
  ranked contest, its `Rank` (default 1) is 1: first preferences only. Rank is not looked
  at in a plurality contest. v = the votes; v > VoteFor is an overvote, none of its votes
  counted. A plurality contest's `#over`/`#under` are its own `Overvotes`/`Undervotes`
  when it states them (each field on its own); in a ranked contest, or when not stated:
  over = VoteFor when overvoted else 0, under = 0 when overvoted else VoteFor - v. Its
  `#ballots` counts 1. The leaf's ballots cast (contest '', selection `#ballots`) count 1.
- Rejected sessions count in nothing. The reason is the first that applies, in this order:
  malformed (structure: identity, current version, PrecinctPortionId, a contest twice, a
  contest without Id, a mark without CandidateId, fields of the wrong JSON type),
  unknown_unit (portion, or counting group, not in the manifests), unknown_contest,
  unknown_selection (a CandidateId not a candidate of that contest), then exactly once:
  among the sessions that pass the checks above, a later copy of an identity whose content
  (leaf unit and every contest's cells) equals an earlier copy's is a `duplicate`; when an
  identity's copies hold more than one content, every copy is a `conflict` (none counted);
  an identity with one content counts its first copy.
- Output: every touched cell at every unit (zeros included when a cell was touched), sorted
  by (unit, contest, selection) as text: `unit,contest,selection,count`; selection is a
  candidate id or `#over`, `#under`, `#ballots`, `#invalid`; ballots cast per unit have an
  empty contest and selection `#ballots`. Beside it EXPECTED.summary.json:
  {"sessions", "counted", "rejected": {reason: n}, "adjudicated"}.

Usage: dominion_oracle.py EXPORT_DIR_OR_ZIP [EXPECTED.csv] [--sessions]
  (--sessions prints every session's outcome, file by file, to stderr)
"""
import json
import os
import re
import sys
import zipfile
from collections import Counter, defaultdict

REASONS = ['malformed', 'unknown_unit', 'unknown_contest', 'unknown_selection',
           'duplicate', 'conflict']


class ExportError(Exception):
    pass


class Rejected(Exception):
    def __init__(self, reason, why):
        super().__init__(why)
        self.reason = reason
        self.why = why


def ident(value):
    """An id as Canvass writes it: decimal text for a number, the text itself for a string."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value != '':
        return value
    return None


def read_export(path):
    """{base name: bytes} of the export's files, from a folder or a .zip (one level down)."""
    files = {}
    if os.path.isdir(path):
        for name in os.listdir(path):
            full = os.path.join(path, name)
            if os.path.isfile(full) and name.endswith('.json'):
                with open(full, 'rb') as f:
                    files[name] = f.read()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                parts = info.filename.rstrip('/').split('/')
                if info.is_dir() or len(parts) > 2 or not parts[-1].endswith('.json'):
                    continue
                files.setdefault(parts[-1], z.read(info))
    else:
        raise ExportError(f'{path}: neither a folder nor a zip')
    return files


def cvr_order(name):
    """CvrExport*.json, ordered by the numbers in the name (compared as numbers), then name."""
    if not (name.startswith('CvrExport') and name.endswith('.json')):
        return None
    return ([int(n) for n in re.findall(r'\d+', name)], name)


def manifest(files, name, required=False):
    if name not in files:
        if required:
            raise ExportError(f'{name} missing')
        return None
    doc = json.loads(files[name])
    if not isinstance(doc, dict) or not isinstance(doc.get('List'), list):
        raise ExportError(f'{name}: no List')
    return doc['List']


class Election:
    def __init__(self, files):
        self.contests = {}  # id -> (vote_for, ranked)
        for c in manifest(files, 'ContestManifest.json', True):
            self.contests[ident(c['Id'])] = (int(c.get('VoteFor', 1)),
                                             int(c.get('NumOfRanks', 0) or 0) >= 2)
        self.candidates = defaultdict(set)  # contest id -> candidate ids
        for c in manifest(files, 'CandidateManifest.json', True):
            cid = ident(c['ContestId'])
            if cid not in self.contests:
                raise ExportError(f'candidate {c["Id"]}: contest {c["ContestId"]} not in ContestManifest')
            self.candidates[cid].add(ident(c['Id']))
        precincts = manifest(files, 'PrecinctManifest.json')
        precinct_ids = {ident(p['Id']) for p in precincts} if precincts is not None else set()
        self.portion_precinct = {}
        for p in manifest(files, 'PrecinctPortionManifest.json', True):
            pid = ident(p.get('PrecinctId'))
            self.portion_precinct[ident(p['Id'])] = pid if pid in precinct_ids else None
        self.portion_districts = defaultdict(set)
        districts = manifest(files, 'DistrictManifest.json')
        links = manifest(files, 'DistrictPrecinctPortionManifest.json')
        if districts is not None and links is not None:
            district_ids = {ident(d['Id']) for d in districts}
            for link in links:
                did = ident(link['DistrictId'])
                if did in district_ids:
                    self.portion_districts[ident(link['PrecinctPortionId'])].add(did)
        groups = manifest(files, 'CountingGroupManifest.json')
        self.groups = {ident(g['Id']) for g in groups} if groups is not None else None
        conditions = manifest(files, 'OutstackConditionManifest.json') or []
        self.invalid_conditions = {ident(c['Id']) for c in conditions
                                   if c.get('Description') == 'InvalidContest'}

    def units_above(self, portion, group):
        units = {'election', f'portion-{portion}'}
        if self.portion_precinct.get(portion) is not None:
            units.add(f'precinct-{self.portion_precinct[portion]}')
        for d in self.portion_districts.get(portion, ()):
            units.add(f'district-{d}')
        if group is not None:
            units.add(f'group-{group}')
            units.add(f'portion-{portion}/group-{group}')
        return units


def need(cond, why):
    if not cond:
        raise Rejected('malformed', why)


def as_list(value, why):
    need(isinstance(value, list), why)
    return value


def read_session(election, s):
    """(identity, leaf, units, cells, adjudicated); cells = {contest: {selection: n}}.
    Raises Rejected with the first reason that applies (before exactly-once)."""
    need(isinstance(s, dict), 'session is not an object')
    identity = tuple(ident(s.get(k)) for k in ('TabulatorId', 'BatchId', 'RecordId'))
    need(None not in identity, 'identity incomplete')
    original = s.get('Original')
    need(isinstance(original, dict), 'no Original')
    version, adjudicated = original, False
    if original.get('IsCurrent') is False:
        version = s.get('Modified')
        need(isinstance(version, dict) and version.get('IsCurrent') is not False,
             'no current version')
        adjudicated = True
    portion = ident(version.get('PrecinctPortionId'))
    need(portion is not None, 'no PrecinctPortionId')
    if 'Cards' in version:
        contests = []
        for card in as_list(version['Cards'], 'Cards is not a list'):
            need(isinstance(card, dict), 'card is not an object')
            contests += as_list(card.get('Contests', []), 'card Contests is not a list')
    else:
        need('Contests' in version, 'the current version has no Cards or Contests')
        contests = as_list(version.get('Contests', []), 'Contests is not a list')
    parsed = []  # (contest id, contest, [(candidate, rank, is_vote, is_ambiguous)])
    seen = set()
    for c in contests:
        need(isinstance(c, dict), 'contest is not an object')
        cid = ident(c.get('Id'))
        need(cid is not None, 'contest without Id')
        need(cid not in seen, f'contest {cid} twice')
        seen.add(cid)
        for key in ('Overvotes', 'Undervotes'):
            need(c.get(key) is None or (isinstance(c[key], int) and not isinstance(c[key], bool)),
                 f'contest {cid} {key} not a number')
        conditions = [ident(x) for x in as_list(c.get('OutstackConditionIds', []) or [],
                                                'OutstackConditionIds is not a list')]
        marks = []
        for m in as_list(c.get('Marks', []) or [], 'Marks is not a list'):
            need(isinstance(m, dict), 'mark is not an object')
            sel = ident(m.get('CandidateId'))
            need(sel is not None, 'mark without CandidateId')
            rank = m.get('Rank', 1)
            rank = 1 if rank is None else rank
            need(isinstance(rank, int) and not isinstance(rank, bool), 'Rank not a number')
            marks.append((sel, rank, m.get('IsVote') is True, m.get('IsAmbiguous') is True))
        parsed.append((cid, c, conditions, marks))
    group = None
    if election.groups is not None:
        need(s.get('CountingGroupId') is not None, 'no CountingGroupId')
        group = ident(s.get('CountingGroupId'))
        if group not in election.groups:
            raise Rejected('unknown_unit', f'counting group {s.get("CountingGroupId")}')
    if portion not in election.portion_precinct:
        raise Rejected('unknown_unit', f'portion {portion}')
    for cid, _, _, _ in parsed:
        if cid not in election.contests:
            raise Rejected('unknown_contest', f'contest {cid}')
    for cid, _, _, marks in parsed:
        for sel, _, _, _ in marks:
            if sel not in election.candidates[cid]:
                raise Rejected('unknown_selection', f'candidate {sel} in contest {cid}')
    cells = {}
    for cid, c, conditions, marks in parsed:
        if election.invalid_conditions & set(conditions):
            cells[cid] = {'#invalid': 1}
            continue
        vote_for, ranked = election.contests[cid]
        votes = [sel for sel, rank, is_vote, ambiguous in marks
                 if is_vote and not ambiguous and (not ranked or rank == 1)]
        over = len(votes) > vote_for
        overvotes = vote_for if over else 0
        undervotes = 0 if over else vote_for - len(votes)
        if not ranked:
            if c.get('Overvotes') is not None:
                overvotes = c['Overvotes']
            if c.get('Undervotes') is not None:
                undervotes = c['Undervotes']
        cell = {'#over': overvotes, '#under': undervotes, '#ballots': 1}
        if not over:
            for sel in votes:
                cell[sel] = cell.get(sel, 0) + 1
        cells[cid] = cell
    leaf = f'portion-{portion}/group-{group}' if group is not None else f'portion-{portion}'
    return identity, leaf, election.units_above(portion, group), cells, adjudicated


def tally(path, trace=None):
    files = read_export(path)
    election = Election(files)
    names = sorted((n for n in files if cvr_order(n)), key=cvr_order)
    if not names:
        raise ExportError('no CvrExport*.json')
    read = []  # (file, index, outcome): outcome is Rejected or the read_session tuple
    for name in names:
        doc = json.loads(files[name])
        if not isinstance(doc, dict) or not isinstance(doc.get('Sessions'), list):
            raise ExportError(f'{name}: no Sessions')
        for i, s in enumerate(doc['Sessions']):
            try:
                read.append((name, i, read_session(election, s)))
            except Rejected as r:
                read.append((name, i, r))
    # Exactly once, among the sessions that passed the checks above.
    copies = defaultdict(list)
    for k, (_, _, outcome) in enumerate(read):
        if not isinstance(outcome, Rejected):
            identity, leaf, _, cells, _ = outcome
            content = (leaf, tuple(sorted((cid, tuple(sorted(c.items()))) for cid, c in cells.items())))
            copies[identity].append((k, content))
    status = {}
    for identity, group in copies.items():
        distinct = {content for _, content in group}
        for n, (k, content) in enumerate(group):
            if len(distinct) > 1:
                status[k] = Rejected('conflict', f'{len(distinct)} contents for one identity')
            elif n > 0:
                status[k] = Rejected('duplicate', 'repeat of an earlier copy')
            else:
                # One content: the ballot counts once, adjudicated when any copy was read
                # from Modified (so that the figure does not depend on the copies' order).
                status[k] = ('counted', any(read[j][2][4] for j, _ in group))
    cells = defaultdict(int)  # (unit, contest, selection) -> n
    summary = {'sessions': len(read), 'counted': 0, 'rejected': {r: 0 for r in REASONS},
               'adjudicated': 0}
    for k, (name, i, outcome) in enumerate(read):
        result = status.get(k, outcome)
        any_adjudicated = None
        if isinstance(result, tuple) and result and result[0] == 'counted':
            any_adjudicated = result[1]
        if isinstance(result, Rejected):
            summary['rejected'][result.reason] += 1
            if trace:
                who = '-'.join(outcome[0]) if not isinstance(outcome, Rejected) else '?'
                if isinstance(outcome, Rejected):
                    s = json.loads(files[name])['Sessions'][i]
                    if isinstance(s, dict):
                        who = '-'.join(str(s.get(x)) for x in ('TabulatorId', 'BatchId', 'RecordId'))
                print(f'{name}[{i}] {who}: {result.reason} ({result.why})', file=trace)
            continue
        identity, leaf, units, contest_cells, adjudicated = outcome
        if any_adjudicated is not None:
            adjudicated = any_adjudicated
        summary['counted'] += 1
        summary['adjudicated'] += adjudicated
        if trace:
            print(f'{name}[{i}] {"-".join(identity)}: counted at {leaf}'
                  f'{" from Modified" if adjudicated else ""} {contest_cells}', file=trace)
        for unit in units:
            cells[(unit, '', '#ballots')] += 1
            for cid, c in contest_cells.items():
                for sel, n in c.items():
                    cells[(unit, cid, sel)] += n
    return cells, summary


def write_expected(path, cells, summary):
    with open(path, 'w') as out:
        out.write('unit,contest,selection,count\n')
        for (unit, cid, sel), n in sorted(cells.items()):
            out.write(f'{unit},{cid},{sel},{n}\n')
    base = path[:-4] if path.endswith('.csv') else path
    with open(base + '.summary.json', 'w') as out:
        json.dump(summary, out, indent=1)
        out.write('\n')


def summary_line(summary):
    rejected = ' '.join(f'{r}={n}' for r, n in summary['rejected'].items())
    return (f'sessions {summary["sessions"]} counted {summary["counted"]} '
            f'rejected {sum(summary["rejected"].values())} ({rejected}) '
            f'adjudicated {summary["adjudicated"]}')


if __name__ == '__main__':
    args = [a for a in sys.argv[1:] if a != '--sessions']
    if not args:
        sys.exit(__doc__)
    try:
        counted, summary = tally(args[0], sys.stderr if '--sessions' in sys.argv else None)
    except (ExportError, ValueError, KeyError, TypeError) as e:
        sys.exit(f'export error: {e!r}')
    if len(args) > 1:
        write_expected(args[1], counted, summary)
    print(summary_line(summary))
