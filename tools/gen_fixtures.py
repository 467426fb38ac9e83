#!/usr/bin/env python3
"""Builds ticketctl's seed fixtures (fixtures/*.json) from the public Bangladesh
Railway timetable and fare data (../shared/data/bangladesh-railway by default).

Run from the repository root:  python3 tools/gen_fixtures.py [DATA_DIR]

The raw files are never copied: this writes the project's own format (see
fixtures/README.md), normalising station identities, converting times to
24-hour local time with a day suffix, estimating distances from fares, and
making a plausible coach composition per train (the data has none).
"""
import glob
import json
import os
import re
import statistics
import sys

DATA = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/bangladesh-railway"
OUT = "fixtures"

CODES = {
    "Dhaka": "DHK", "Chattogram": "CTG", "Biman Bandar": "APT", "Cumilla": "CML", "Feni": "FNI",
    "Laksam": "LKM", "Akhaura": "AKH", "Bhairab Bazar": "BHB", "Brahmanbaria": "BBR", "Narsingdi": "NSD",
    "Sylhet": "SYL", "Srimangal": "SMG", "Rajshahi": "RJS", "Khulna": "KLN", "Jashore": "JSR",
    "Ishwardi": "ISD", "Cox's Bazar": "CXB", "Mymensingh": "MYM", "Joydebpur": "JDP", "Tangail": "TGL",
    "Bogura": "BGR", "Dinajpur": "DNJ", "Rangpur": "RGP", "Noakhali": "NKL", "Chandpur": "CDP",
    "Kishoreganj": "KGJ", "Netrokona": "NTK", "Jamalpur": "JMP", "Panchagarh": "PGH", "Benapole": "BNP",
    "Lalmonirhat": "LMH", "Saidpur": "SDP", "Parbatipur": "PBP", "Natore": "NTR", "Pabna": "PBN",
    "Kushtia": "KST", "Chuadanga": "CDG", "Bhanga": "BNG", "Narail": "NRL",
}
ALIASES = {
    "Dhaka": ["Kamalapur"], "Chattogram": ["Chittagong"], "Cumilla": ["Comilla"],
    "Biman Bandar": ["Airport", "Dhaka Airport"], "Jashore": ["Jessore"], "Bogura": ["Bogra"],
}
# Classes a coach of each kind carries: (seats per coach, layout).
COACH_KIND = {
    "S_CHAIR": (60, "2+2"), "SHOVAN": (80, "2+3"), "SHULOV": (80, "2+3"), "SNIGDHA": (50, "2+2"),
    "AC_S": (50, "2+2"), "AC_CHAIR": (50, "2+2"), "F_SEAT": (50, "2+2"), "F_CHAIR": (50, "2+2"),
    "AC_B": (24, "berth"), "F_BERTH": (24, "berth"),
}
# How many coaches of a class a train gets when it carries that class.
COACH_COUNT = {"S_CHAIR": 6, "SHOVAN": 3, "SHULOV": 2, "SNIGDHA": 2, "AC_S": 1, "AC_CHAIR": 1,
               "F_SEAT": 1, "F_CHAIR": 1, "AC_B": 1, "F_BERTH": 1}
VAT_CLASSES = {"AC_B", "AC_S", "SNIGDHA", "F_BERTH", "F_SEAT", "F_CHAIR", "AC_CHAIR"}
KNOWN_KM = {("Dhaka", "Chattogram"): 321, ("Dhaka", "Sylhet"): 319, ("Dhaka", "Rajshahi"): 343,
            ("Dhaka", "Mymensingh"): 122, ("Dhaka", "Cumilla"): 147}


def load(path):
    with open(os.path.join(DATA, path), encoding="utf-8") as f:
        return json.load(f)


def fold(name):
    return re.sub(r"[\s_'.\-]", "", name).lower()


def pretty(name):
    return name.replace("_", " ").strip()


def hhmm(text):
    """'04:30 pm BST' -> minutes after midnight."""
    m = re.match(r"(\d{1,2}):(\d{2})\s*([ap]m)", text.strip().lower())
    if not m:
        raise ValueError(f"bad time {text!r}")
    h, mi, ap = int(m.group(1)) % 12, int(m.group(2)), m.group(3)
    return (h + (12 if ap == "pm" else 0)) * 60 + mi


def fmt(minutes):
    day, m = divmod(minutes, 1440)
    return f"{m // 60:02d}:{m % 60:02d}" + (f"+{day}" if day else "")


def make_code(name, taken):
    if name in CODES:
        return CODES[name]
    letters = re.sub(r"[^A-Za-z]", "", name).upper()
    consonants = letters[0] + re.sub(r"[AEIOU]", "", letters[1:])
    for pool in (consonants, letters):
        for i in range(1, len(pool)):
            for j in range(i + 1, len(pool)):
                code = pool[0] + pool[i] + pool[j]
                if code not in taken:
                    return code
    for n in range(100):
        code = letters[:2] + chr(ord("A") + n % 26)
        if code not in taken:
            return code
    raise ValueError(name)


def main():
    en = load("stations_en.json")["stations"]
    bn = load("stations_bn.json")["stations"]
    stations = {}  # fold -> record
    for e, b in zip(en, bn):
        name = pretty(e)
        stations[fold(name)] = {"name_en": name, "name_bn": pretty(b) or None}

    trains_en = load("trains_en.json")["trains"]
    trains_bn = load("trains_bn.json")["trains"]
    bn_by_number = {}
    for e, b in zip(trains_en, trains_bn):
        num = re.search(r"\((\d+)\)", e)
        if num:
            bn_by_number[int(num.group(1))] = re.sub(r"\s*\(.*\)\s*$", "", b).strip()

    raw_trains = [load(os.path.relpath(p, DATA))["data"] for p in sorted(glob.glob(os.path.join(DATA, "trains", "*.json")))]
    for t in raw_trains:
        for r in t["routes"]:
            stations.setdefault(fold(r["city"]), {"name_en": pretty(r["city"]), "name_bn": None})

    # Fares, keyed by folded station names.
    fares = {}
    for path in sorted(glob.glob(os.path.join(DATA, "fares", "*.json"))):
        d = load(os.path.relpath(path, DATA))
        a, b = fold(d["origin_city_name"]), fold(d["destination_city_name"])
        if a not in stations or b not in stations or a == b:
            continue
        fares[(a, b)] = {i["type"]: [int(round(i["fare"])), int(i["vat_amount"])] for i in d["info"]}

    taken = set()
    for key in sorted(stations, key=lambda k: (stations[k]["name_en"] not in CODES, stations[k]["name_en"])):
        code = make_code(stations[key]["name_en"], taken)
        taken.add(code)
        stations[key]["code"] = code
        stations[key]["aliases"] = ALIASES.get(stations[key]["name_en"], [])

    # Per-km rates: S_CHAIR calibrated on known distances, other classes by their
    # median ratio to S_CHAIR over pairs that sell both.
    s_chair_rate = statistics.median(
        fares[(fold(a), fold(b))]["S_CHAIR"][0] / km for (a, b), km in KNOWN_KM.items()
        if (fold(a), fold(b)) in fares and "S_CHAIR" in fares[(fold(a), fold(b))])
    ratio = {"S_CHAIR": 1.0}
    for cls in COACH_KIND:
        if cls == "S_CHAIR":
            continue
        rs = [f[cls][0] / f["S_CHAIR"][0] for f in fares.values() if cls in f and "S_CHAIR" in f and f["S_CHAIR"][0] > 0]
        if rs:
            ratio[cls] = statistics.median(rs)
    rates = {}
    for cls, r in sorted(ratio.items()):
        observed = sorted(f[cls][0] for f in fares.values() if cls in f)
        rates[cls] = {"per_km": round(s_chair_rate * r, 3), "min": observed[max(0, len(observed) // 50)],
                      "vat_percent": 15 if cls in VAT_CLASSES else 0}

    def km_from_fare(a, b):
        f = fares.get((a, b)) or fares.get((b, a))
        if not f:
            return None
        ests = [f[c][0] / rates[c]["per_km"] for c in f if c in rates and rates[c]["per_km"] > 0]
        return statistics.median(ests) if ests else None

    trains = []
    exact_pairs = missing_pairs = 0
    for t in raw_trains:
        m = re.match(r"(.*)\((\d+)\)", t["train_name"])
        name, number = m.group(1).strip().title(), int(m.group(2))
        routes = t["routes"]
        stops, clock, day = [], None, 0

        def absolute(text):
            nonlocal clock, day
            minutes = hhmm(text) + day * 1440
            if clock is not None and minutes < clock:
                day += 1
                minutes += 1440
            clock = minutes
            return minutes

        for i, r in enumerate(routes):
            arr = r.get("arrival_time")
            dep = r.get("departure_time")
            halt = int(r["halt"]) if str(r.get("halt") or "").isdigit() else 0
            a = absolute(arr) if (arr and i > 0) else None
            d = absolute(dep) if (dep and i < len(routes) - 1) else None
            if i > 0 and a is None:
                a = d - halt if d is not None else None
            if i < len(routes) - 1 and d is None:
                d = a + halt if a is not None else None
            stops.append({"key": fold(r["city"]), "arrive": a, "depart": d})
        # Distances from the first stop, estimated from fares; gaps by running time.
        origin = stops[0]["key"]
        kms = [0.0] + [km_from_fare(origin, s["key"]) for s in stops[1:]]
        times = [s["depart"] if s["arrive"] is None else s["arrive"] for s in stops]
        for i in range(1, len(kms)):
            if kms[i] is None:
                nxt = next((j for j in range(i + 1, len(kms)) if kms[j] is not None), None)
                if nxt is None:
                    kms[i] = kms[i - 1] + max(1.0, (times[i] - times[i - 1]) * 50 / 60)
                else:
                    span = max(1, times[nxt] - times[i - 1])
                    kms[i] = kms[i - 1] + (kms[nxt] - kms[i - 1]) * (times[i] - times[i - 1]) / span
        km_out = []
        for k in kms:
            v = int(round(k))
            if km_out and v <= km_out[-1]:
                v = km_out[-1] + 1
            km_out.append(v)
        for i in range(len(stops)):
            for j in range(i + 1, len(stops)):
                if (stops[i]["key"], stops[j]["key"]) in fares:
                    exact_pairs += 1
                else:
                    missing_pairs += 1
        # Coaches: the classes sold between the ends of the route (or along it).
        classes = set(fares.get((stops[0]["key"], stops[-1]["key"]), {}))
        if not classes:
            for i in range(len(stops)):
                for j in range(i + 1, len(stops)):
                    classes |= set(fares.get((stops[i]["key"], stops[j]["key"]), {}))
        classes = [c for c in COACH_KIND if c in classes] or ["S_CHAIR"]
        codes = iter(["KA", "KHA", "GA", "GHA", "UMA", "CHA", "SCHA", "JA", "JHA", "NEO", "TA", "THA",
                      "DA", "DHA", "TO", "THO", "DOA", "DANT"])
        coaches = []
        for cls in classes:
            seats, layout = COACH_KIND[cls]
            for _ in range(COACH_COUNT[cls]):
                code = next(codes, None)
                if code:
                    coaches.append({"code": code, "class": cls, "seats": seats, "layout": layout})
        trains.append({
            "number": number, "name": name, "name_bn": bn_by_number.get(number),
            "runs_on": t["days"],
            "stops": [{"station": stations[s["key"]]["code"],
                       "arrive": fmt(s["arrive"]) if s["arrive"] is not None else None,
                       "depart": fmt(s["depart"]) if s["depart"] is not None else None,
                       "km": km} for s, km in zip(stops, km_out)],
            "coaches": coaches,
        })
    trains.sort(key=lambda t: t["number"])

    station_list = sorted(({"code": s["code"], "name_en": s["name_en"], "name_bn": s["name_bn"], "aliases": s["aliases"]}
                           for s in stations.values()), key=lambda s: s["code"])
    fare_list = sorted(({"from": stations[a]["code"], "to": stations[b]["code"], "fares": dict(sorted(f.items()))}
                        for (a, b), f in fares.items()), key=lambda f: (f["from"], f["to"]))

    check(station_list, trains, fare_list)
    os.makedirs(OUT, exist_ok=True)
    write_lines("stations.json", station_list)
    write_lines("trains.json", trains)
    write_lines("fares.json", fare_list)
    with open(os.path.join(OUT, "fare_rates.json"), "w", encoding="utf-8") as f:
        json.dump(rates, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT) if n.endswith(".json"))
    print(f"{len(station_list)} stations, {len(trains)} trains, {len(fare_list)} fare pairs, "
          f"{exact_pairs} train stop pairs with a published fare, {missing_pairs} priced by rate; {size} bytes")


def write_lines(name, records):
    """One record per line: small diffs when the data changes."""
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]\n")


def check(stations, trains, fares):
    codes = [s["code"] for s in stations]
    assert len(codes) == len(set(codes)), "station codes are unique"
    names = [fold(n) for s in stations for n in [s["name_en"], s["code"]] + s["aliases"]]
    assert len(names) == len(set(names)), "names, codes and aliases are unique"
    by_number = {t["number"]: t for t in trains}
    s702 = by_number[702]
    assert (s702["stops"][0]["station"], s702["stops"][0]["depart"]) == ("DHK", "16:30"), s702["stops"][0]
    assert (s702["stops"][-1]["station"], s702["stops"][-1]["arrive"]) == ("CTG", "21:25"), s702["stops"][-1]
    assert by_number[742]["stops"][-1]["arrive"].endswith("+1")
    dc = next(f for f in fares if (f["from"], f["to"]) == ("DHK", "CTG"))["fares"]
    assert dc["S_CHAIR"] == [450, 0] and dc["SNIGDHA"] == [743, 112], dc
    for t in trains:
        kms = [s["km"] for s in t["stops"]]
        assert kms == sorted(kms) and len(set(kms)) == len(kms), t["number"]
        mins = []
        for s in t["stops"]:
            for v in (s["arrive"], s["depart"]):
                if v:
                    h, rest = v.split(":")
                    m, _, day = rest.partition("+")
                    mins.append(int(day or 0) * 1440 + int(h) * 60 + int(m))
        assert mins == sorted(mins), (t["number"], mins)
    corridor = sorted(t["number"] for t in trains
                      if {"DHK", "CTG"} <= {s["station"] for s in t["stops"]})
    print("trains calling at Dhaka and Chattogram:", corridor)


if __name__ == "__main__":
    main()
