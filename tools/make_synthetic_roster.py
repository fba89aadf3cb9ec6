#!/usr/bin/env python3
"""Generate the SYNTHETIC station roster for datasets/ir-2024-runoff-overseas.

Facts: the 2024 Iranian presidential runoff was held abroad at 138 stations in
98 countries; 88,325 votes were cast abroad. No station-level figures were
published, so every station id, the number of stations per country, and every
capacity and weight below is simulated.

Deterministic: fixed seed, standard library only. Run from anywhere:

    python3 tools/make_synthetic_roster.py
"""

import csv
import math
import os
import random
import sys

SEED = 20240705
CAST_ABROAD = 88325
N_STATIONS = 138
N_COUNTRIES = 98

# 98 ISO 3166-1 alpha-2 codes of countries plausible for Iranian missions.
COUNTRIES = [
    # Middle East and Caucasus
    "IQ", "AE", "TR", "QA", "KW", "OM", "BH", "SA", "SY", "LB", "JO", "EG",
    "AZ", "AM", "GE",
    # Central and South Asia
    "AF", "PK", "IN", "BD", "LK", "NP", "KZ", "UZ", "TJ", "TM", "KG",
    # East and Southeast Asia, Oceania
    "CN", "JP", "KR", "KP", "MN", "MY", "ID", "TH", "SG", "PH", "VN", "MM",
    "BN", "AU", "NZ",
    # Europe
    "DE", "GB", "SE", "NL", "FR", "IT", "AT", "CH", "ES", "BE", "DK", "NO",
    "FI", "PT", "IE", "GR", "PL", "CZ", "HU", "RO", "BG", "RS", "HR", "SI",
    "SK", "BA", "CY", "RU", "BY", "UA",
    # Americas
    "BR", "AR", "VE", "MX", "CU", "BO", "NI", "CL", "CO", "EC", "UY",
    # Africa
    "ZA", "KE", "NG", "ET", "TZ", "DZ", "TN", "LY", "SD", "SN", "GH", "UG",
    "ZW", "ML", "MZ", "MR",
]

# The 40 stations beyond one per country go to the largest diaspora countries.
EXTRA_STATIONS = {
    "IQ": 6, "AE": 5, "TR": 4, "DE": 3, "GB": 2, "AU": 2, "SE": 2, "RU": 2,
    "MY": 2, "KW": 2, "OM": 2, "NL": 1, "FR": 1, "IT": 1, "AT": 1, "QA": 1,
    "SY": 1, "CN": 1, "IN": 1,
}

# Relative expected turnout per station, by country (unlisted countries: 1).
COUNTRY_FACTOR = {
    "IQ": 60, "AE": 60, "TR": 25,
    "DE": 12, "GB": 10, "AU": 8, "SE": 8, "RU": 6, "MY": 6, "KW": 8, "OM": 6,
    "QA": 6, "NL": 5, "FR": 5, "IT": 5, "AT": 5, "SY": 6, "CN": 4, "IN": 4,
    "AF": 6, "AZ": 5, "AM": 4, "GE": 4, "BH": 4, "SA": 5, "LB": 4, "PK": 4,
    "CH": 3, "ES": 3, "BE": 3, "DK": 3, "NO": 3, "FI": 2, "JP": 3, "KR": 2,
    "TJ": 2, "TM": 2, "KZ": 2, "UZ": 2, "JO": 2, "EG": 2, "ID": 2, "TH": 2,
    "BR": 2, "ZA": 2, "NZ": 2, "CY": 2,
}
SIGMA = 1.2


def stations():
    out = []
    for cc in COUNTRIES:
        for n in range(1, 2 + EXTRA_STATIONS.get(cc, 0)):
            out.append((f"{cc}-{n:02d}", cc))
    return sorted(out)


def main():
    assert len(COUNTRIES) == N_COUNTRIES, len(COUNTRIES)
    assert len(set(COUNTRIES)) == N_COUNTRIES, "duplicate country code"
    assert all(len(cc) == 2 and cc.isupper() and cc.isalpha() for cc in COUNTRIES)
    assert set(EXTRA_STATIONS) <= set(COUNTRIES)
    assert sum(EXTRA_STATIONS.values()) == N_STATIONS - N_COUNTRIES

    rng = random.Random(SEED)
    roster = stations()
    raw = [COUNTRY_FACTOR.get(cc, 1) * rng.lognormvariate(0.0, SIGMA)
           for _, cc in roster]
    scale = CAST_ABROAD / sum(raw)
    weights = [max(1, math.floor(r * scale + 0.5)) for r in raw]
    capacities = [math.ceil(w * 1.4) + 50 for w in weights]
    total = sum(weights)

    assert len(roster) == N_STATIONS
    assert len({sid for sid, _ in roster}) == N_STATIONS, "duplicate station id"
    assert len({cc for _, cc in roster}) == N_COUNTRIES
    for (sid, _), w, c in zip(roster, weights, capacities):
        assert w > 0 and c > 0, sid
        # The engine splits each reported figure (JAL, PEZ, INV) across
        # stations by weight with largest-remainder rounding, so a station's
        # ballots exceed cast * weight / total by at most 3.
        assert c >= CAST_ABROAD * w // total + 3, sid

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "datasets", "ir-2024-runoff-overseas", "roster.csv")
    with open(path, "w", newline="", encoding="ascii") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["station", "country", "capacity", "weight"])
        for (sid, cc), w, c in zip(roster, weights, capacities):
            writer.writerow([sid, cc, c, w])

    largest = max(weights)
    print(f"stations={len(roster)} countries={len({cc for _, cc in roster})} "
          f"weight_sum={total} largest_share={100.0 * largest / total:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
