#!/usr/bin/env python3
"""Independent tally of a NIST SP 1500-103 CVR JSON file, compared with the NIST SP
1500-100 ERR JSON file of the same election, cell by cell.

Kept beside the tests as their oracle: it shares no code with Canvass. Rules (docs/FORMAT.md):
a CVR's current snapshot is the CVRSnapshot whose @id is CurrentSnapshotId; a mark counts
when HasIndication and IsAllocable are each "yes" or absent; its weight is
NumberVotes (default 1). Per contest on the ballot: marks > vote_for is an overvote
(no mark counted); its Overvotes and Undervotes are the CVRContest's own when it carries
them, else vote_for for an overvote and vote_for - marks otherwise. Ballots roll up
from their BallotStyleUnitId to the election scope.
"""
import json
import sys
from collections import defaultdict


def tally(cvr_path, err_path):
    err = json.load(open(err_path))
    election = err['Election'][0] if isinstance(err['Election'], list) else err['Election']
    scope = election['ElectionScopeId']
    vote_for = {c['@id']: c.get('VotesAllowed', 1) for c in election['Contest']}
    cvrs = json.load(open(cvr_path))['CVR']
    cells = defaultdict(int)  # (unit, contest, selection or #over/#under/#ballots)
    ballots = defaultdict(int)
    for cvr in cvrs:
        snapshot = [s for s in cvr['CVRSnapshot'] if s['@id'] == cvr['CurrentSnapshotId']][0]
        units = [cvr['BallotStyleUnitId'], scope]
        for unit in units:
            ballots[unit] += 1
        for contest in snapshot.get('CVRContest', []):
            cid = contest['ContestId']
            marks = []
            for selection in contest.get('CVRContestSelection', []):
                for position in selection['SelectionPosition']:
                    if position.get('HasIndication', 'yes') != 'yes':
                        continue
                    if position.get('IsAllocable', 'yes') != 'yes':
                        continue
                    marks.append((selection['ContestSelectionId'], position.get('NumberVotes', 1)))
            n = sum(v for _, v in marks)
            over = n > vote_for[cid]
            overvotes = contest.get('Overvotes', vote_for[cid] if over else 0)
            undervotes = contest.get('Undervotes', 0 if over else vote_for[cid] - n)
            for unit in units:
                cells[(unit, cid, '#over')] += overvotes
                cells[(unit, cid, '#under')] += undervotes
                if not over:
                    for sid, v in marks:
                        cells[(unit, cid, sid)] += v
    return election, cells, ballots


def reported(election):
    cells = {}
    for contest in election['Contest']:
        cid = contest['@id']
        for selection in contest['ContestSelection']:
            for vc in selection.get('VoteCounts', []):
                if vc['Type'] == 'total':
                    cells[(vc['GpUnitId'], cid, selection['@id'])] = vc['Count']
        for oc in contest.get('OtherCounts', []):
            cells[(oc['GpUnitId'], cid, '#over')] = oc['Overvotes']
            cells[(oc['GpUnitId'], cid, '#under')] = oc['Undervotes']
    return cells


def write_expected(path, counted, ballots):
    """Every counted cell, one line each: unit,contest,selection,count (selection '#over',
    '#under' for the figures; contest '' and selection '#ballots' for ballots cast)."""
    with open(path, 'w') as out:
        out.write('unit,contest,selection,count\n')
        for (unit, cid, sid), value in sorted(counted.items()):
            out.write(f'{unit},{cid},{sid},{value}\n')
        for unit, value in sorted(ballots.items()):
            out.write(f'{unit},,#ballots,{value}\n')


if __name__ == '__main__':
    # nist_oracle.py CVR.json ERR.json [EXPECTED.csv]
    election, counted, ballots = tally(sys.argv[1], sys.argv[2])
    if len(sys.argv) > 3:
        write_expected(sys.argv[3], counted, ballots)
    rep = reported(election)
    bad = 0
    for key, value in sorted(rep.items()):
        got = counted.get(key, 0)
        if got != value:
            bad += 1
            print('MISMATCH', key, 'counted', got, 'reported', value)
    for key in sorted(counted):
        if key not in rep and counted[key]:
            print('UNREPORTED', key, counted[key])
    print('cells', len(rep), 'mismatches', bad, 'ballots', dict(ballots))
