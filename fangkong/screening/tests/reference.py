"""Exposure matching by brute force, in plain Python: an independent computation of
what docs/exposure.md says, to hold the engines to."""

MINUTE = 60_000_000


def venue_contacts(scans, cases, margin_us, *, second_degree=False):
    """scans: (person_id, venue_code, at_us); cases: (case_id, person_id, start_us,
    end_us). Returns sorted (case_id, person_id, venue_code, case_at_us, contact_at_us,
    apart_us, degree, via_person_id)."""
    out = []
    for case_id, case_person, start, end in cases:
        first = _closest(scans, [(case_person, start, end)], {case_person}, margin_us)
        out += [(case_id, p, *best, 1, None) for p, best in first.items()]
        if not second_degree:
            continue
        sources = []
        for person in first:
            exposures = [
                t
                for p, v, t in scans
                for cp, cv, ct in scans
                if p == person
                and cp == case_person
                and cv == v
                and start <= ct <= end
                and abs(t - ct) <= margin_us
            ]
            sources.append((person, min(exposures), end))
        second = {}
        for via, via_start, via_end in sources:
            found = _closest(scans, [(via, via_start, via_end)], {case_person, via}, margin_us)
            for person, best in found.items():
                if person in first:
                    continue
                candidate = (best[3], best[1], best[2], best[0], via)
                if person not in second or candidate < second[person][0]:
                    second[person] = (candidate, best)
        out += [(case_id, p, *best, 2, key[4]) for p, (key, best) in second.items()]
    return sorted(out, key=lambda row: (row[0], row[1]))


def _closest(scans, sources, excluded, margin_us):
    """person -> (venue, source_at, contact_at, apart) of the closest pair, ties by the
    earlier source scan, the earlier contact scan, the smaller venue."""
    best = {}
    for source, start, end in sources:
        own = [(v, t) for p, v, t in scans if p == source and start <= t <= end]
        for venue, at in own:
            for person, v, t in scans:
                if v != venue or person in excluded or abs(t - at) > margin_us:
                    continue
                key = (abs(t - at), at, t, venue)
                if person not in best or key < best[person][0]:
                    best[person] = (key, (venue, at, t, abs(t - at)))
    return {person: value for person, (_key, value) in best.items()}
