#!/usr/bin/env python3
"""Differential test of `scrub serve` against oracle.py (SPEC.md read independently).

Starts one server per frozen instant (--now), near DST transitions among them;
for each scenario makes a fresh org, loads random rules, configurations and
history through the API, then sends random checks interleaved with contact
attempts (with and without keys, cancels) and compares every
POST complianceStatuses answer, field by field, with the oracle's.

    python3 bench/differential/run.py [--scrub target/release/scrub] [--scenarios 40] [--seed 1]

Exit 0 when every answer agreed; 1 with the disagreements printed (scenario,
request, both answers) otherwise.
"""

import argparse
import contextlib
import csv
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle as O  # noqa: E402

# (now, default zone): a plain day, just after US fall-back, just after US and
# Havana spring-forward (off the minute), Santiago's midnight gap, Lord Howe's
# half-hour shift, month and week ends.
INSTANTS = [
    ("2026-11-02T15:00:00Z", "UTC"),
    ("2026-11-01T06:30:00Z", "America/New_York"),
    ("2026-03-09T04:59:30.250Z", "America/Chicago"),
    ("2026-09-07T03:00:00Z", "America/Santiago"),
    ("2026-04-05T15:45:00Z", "Australia/Lord_Howe"),
    ("2026-05-31T23:30:00Z", "Europe/London"),
]
ZONES = [None, "America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago",
         "America/Havana", "UTC", "Asia/Kolkata"]
PHONES = [["(212) 555-0101", "212.555.0101", " 2125550101 "], ["2125550102", "212-555-0102"],
          ["3105550199", "(310) 555 0199"]]
EMAILS = [["Ann@Example.com", "ann@example.com", " ANN@EXAMPLE.COM"], ["bob@example.com", "Bob@Example.Com"]]
CUSTOMERS = [None, "C1", "C2", " C1 "]
ACCOUNTS = [None, "A1", "A2"]
LISTS = [None, None, "L1", "l1 ", "L2"]
PURPOSES = [None, "Sales", "collections", "Collections "]
GEOS = [[], ["NY"], ["CA", "ny"], ["TX"]]
DISPOSITIONS = [None, "Answered", "NoAnswer", "BZ", "c1"]
PRODUCTS = ["Gold", "silver", "Bronze"]
THRESHOLDS = ["Minute", "Hour", "Day", "Week", "CurrentDay", "CurrentWeek", "CurrentMonth"]
KINDS = ["Customer", "ContactAddress", "CustomerContactAddress", "Account", "AccountContactAddress"]
STATS = Counter()
FIELDS = ["restricted", "restrictionType", "restrictedRuleId", "restrictedRuleName", "restrictionStartTime",
          "restrictionEndTime", "messageType", "availableQuota"]


class Api:
    def __init__(self, port, org, token):
        self.port, self.org, self.token = port, org, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method, rest, body=None):
        path = f"/via/v4/organizations/{self.org}/compliance/{rest}"
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                self.conn.request(method, path, data, headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        raise SystemExit(f"{method} {path}: connection failed")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rnd_time(rng, now, spread):
    """An instant near now: exact, a millisecond off, minutes, hours or days away."""
    unit = rng.choice([timedelta(0), timedelta(milliseconds=1), timedelta(minutes=rng.randint(1, 90)),
                       timedelta(hours=rng.randint(1, 30)), timedelta(days=rng.randint(1, spread))])
    return now + unit if rng.random() < 0.5 else now - unit


def pick_address(rng, channel):
    pool = EMAILS if channel == "Email" else PHONES
    return rng.choice(rng.choice(pool))


def gen_exclusions(rng, now):
    out, seen = [], set()
    for _ in range(rng.randint(0, 5)):
        kind = rng.choice(["Voice", "Voice", "SMS", "Email", "Account", "SSN"])
        if kind == "Account":
            value = rng.choice(["A1", "A2"])
        elif kind == "SSN":
            value = rng.choice(["123-45-6789", "123456789"])
        else:
            value = pick_address(rng, kind)
        lst = rng.choice(LISTS)
        ident = (kind, O.address_key(kind, value) if kind in O.CHANNELS else O.digits(value) if kind == "SSN"
                 else value, O.folded(lst))
        if ident in seen:
            continue
        seen.add(ident)
        e = {"exclusionType": rng.choice([kind, kind.lower(), kind.upper()]), "exclusionValue": value,
             "reason": "test"}
        if lst:
            e["contactListName"] = lst
        start = rnd_time(rng, now, 3) if rng.random() < 0.4 else None
        end = rnd_time(rng, now, 3) if rng.random() < 0.5 else None
        if start and end and end <= start:
            start, end = end, start + timedelta(hours=rng.randint(0, 3))  # may be empty: start == end
        if start:
            e["startTime"] = O.fmt(start)
        if end:
            e["endTime"] = O.fmt(end)
        out.append(e)
        if end and rng.random() < 0.5:
            # A second interval for the same value on another list scope that touches or
            # overlaps this one, so restrictionEndTime has to follow the chain (§4).
            lst2 = rng.choice([None, "L1", "L2"])
            ident2 = ident[:2] + (O.folded(lst2),)
            if ident2 not in seen:
                seen.add(ident2)
                e2 = {"exclusionType": kind, "exclusionValue": value}
                if lst2:
                    e2["contactListName"] = lst2
                s2 = end - rng.choice([timedelta(0), timedelta(minutes=30), timedelta(hours=5)])
                e2["startTime"] = O.fmt(s2)
                if rng.random() < 0.7:
                    e2["endTime"] = O.fmt(s2 + timedelta(hours=rng.randint(1, 50)))
                out.append(e2)
    return out


def gen_windows(rng, now, zone):
    wins = []
    local = now.astimezone(O.ZoneInfo(zone or "UTC"))
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        days = rng.sample(O.DAYS, rng.randint(1, 7))
        if rng.random() < 0.2:
            days = [rng.choice([d[:3], d.lower(), d.upper()]) for d in days]
        if rng.random() < 0.3:  # a boundary at the current local minute
            s = local.hour * 60 + local.minute + rng.choice([-1, 0, 1])
            s %= 1440
        else:
            s = rng.randrange(0, 1440, 15)
        e = rng.choice([s + rng.randrange(15, 600, 15), s, rng.randrange(0, 1440, 15), 1440])
        e = min(e, 1440)
        wins.append({"dayOfWeek": days, "startTime": f"{s // 60:02d}:{s % 60:02d}",
                     "endTime": "24:00" if e == 1440 else f"{e // 60:02d}:{e % 60:02d}"})
    return wins


def gen_ccts(rng, now, zone):
    out, seen = [], set()
    for _ in range(rng.randint(0, 4)):
        kt = rng.choice(["Customer", "Account"])
        key = rng.choice(["C1", "C2"] if kt == "Customer" else ["A1", "A2"])
        vt = rng.choice(["All", "Voice", "SMS", "Email"])
        value = None if vt == "All" or rng.random() < 0.4 else pick_address(rng, vt)
        ident = (kt, key, vt, O.address_key(vt, value) if value else None)
        if ident in seen:
            continue
        seen.add(ident)
        c = {"contactKeyType": kt, "contactKey": key, "contactValueType": vt,
             "convenientTimes": gen_windows(rng, now, zone), "reason": "test"}
        if value:
            c["contactValue"] = value
        if rng.random() < 0.3:
            c["endTime"] = O.fmt(rnd_time(rng, now, 5))
        out.append(c)
    return out


def gen_tracker(rng, message):
    t = {"typeOfTracker": rng.choice(KINDS), "numberOfAttempts": rng.choice([0, 1, 1, 2, 2, 3, 4]),
         "thresholdType": rng.choice(THRESHOLDS), "threshold": rng.randint(1, 3)}
    if rng.random() < 0.2:
        t["dispositions"] = rng.sample(["Answered", "NoAnswer", "bz"], rng.randint(1, 2))
    if rng.random() < 0.15:
        t["numberTypes"] = rng.sample([1, 2, 3], rng.randint(1, 2))
    if rng.random() < 0.15:
        t["purposes"] = rng.sample(["sales", "Collections"], 1)
    if rng.random() < 0.15:
        t["geocodes"] = rng.sample(["ny", "CA", "TX"], rng.randint(1, 2))
    if rng.random() < 0.1:
        t["enabled"] = False
    if message:
        t["messageTrackerName"] = f"m{rng.randint(0, 999)}"
        if rng.random() < 0.7:
            t["thresholdActionType"] = rng.choice(["NoPlayMessage", "PlayStandardMessage"])
    else:
        t["attemptTrackerName"] = f"t{rng.randint(0, 999)}"
        if rng.random() < 0.8:
            chans = rng.sample(O.CHANNELS, rng.randint(1, 3))
            ex = rng.random() < 0.25 and len(chans) < 3
            if ex and rng.random() < 0.3:
                chans = []  # excluding nothing: every channel
            t["contactChannels"] = chans
            t["acrossContactChannels"] = rng.random() < 0.5
            t["excludeContactChannels"] = ex
    return t


def gen_record(rng, zone_default):
    ch = rng.choice(O.CHANNELS)
    r = {"contactChannel": rng.choice([ch, ch.lower()]), "contactAddress": pick_address(rng, ch)}
    for field, pool in (("customer", CUSTOMERS), ("accountNumber", ACCOUNTS), ("contactListName", LISTS),
                        ("purpose", PURPOSES)):
        v = rng.choice(pool)
        if v is not None:
            r[field] = v
    if rng.random() < 0.3:
        r["ssn"] = rng.choice(["123-45-6789", "987654321"])
    if rng.random() < 0.5:
        r["numberType"] = rng.choice([1, 2, 3])
    g = rng.choice(GEOS)
    if g:
        r["geocodes"] = g
    z = rng.choice(ZONES)
    if z:
        r["timeZone"] = z
    if rng.random() < 0.4:
        r["product"] = rng.choice(PRODUCTS + ["GOLD"])
    if rng.random() < 0.3:
        r["requiredChecks"] = rng.sample(list(O.CHECKS) + ["all"], rng.randint(1, 3))
    return r


def gen_attempt(rng, now, days_back=40):
    r = gen_record(rng, None)
    r.pop("requiredChecks", None)
    r.pop("contactListName", None)
    r.pop("ssn", None)
    # Mostly the last few days, clustered so that trackers fill up.
    back = rng.choice([timedelta(minutes=rng.randint(0, 120)), timedelta(hours=rng.randint(0, 48)),
                       timedelta(days=rng.randint(0, days_back), minutes=rng.randint(0, 1439))])
    at = now - back if rng.random() < 0.93 else now + timedelta(minutes=rng.randint(1, 3000))
    if rng.random() < 0.3:
        # On a window edge: now itself, whole minutes or hours back, or a local midnight
        # (in a zone a record may use) some days back, give or take a millisecond.
        zone = O.ZoneInfo(rng.choice([z for z in ZONES if z]))
        day = now.astimezone(zone).date() - timedelta(days=rng.randint(0, 22))
        at = rng.choice([now, now - timedelta(minutes=rng.randint(1, 3)), now - timedelta(hours=rng.randint(1, 3)),
                         O.local_midnight(day, zone)])
        at += rng.choice([timedelta(0), timedelta(0), timedelta(milliseconds=1), -timedelta(milliseconds=1)])
    r["timeOfContact"] = O.fmt(at)
    d = rng.choice(DISPOSITIONS)
    if d:
        r["disposition"] = d
    if "product" in r and rng.random() < 0.5:
        r["productSold"] = rng.randint(0, 2)
    return r


def gen_config(rng):
    at = {}
    if rng.random() < 0.3:
        at["excludedContactAddresses"] = [pick_address(rng, rng.choice(O.CHANNELS))]
    if rng.random() < 0.3:
        at["excludeFromContactAddressRule"] = [pick_address(rng, rng.choice(O.CHANNELS))]
    if rng.random() < 0.5:  # active records block most repeats; half the scenarios test the trackers behind them
        at["enableActiveRecordFeature"] = False
    if rng.random() < 0.3:
        at["lifeTimeOfActiveRecord"] = rng.randint(1, 1440)
    if rng.random() < 0.3:
        at["minutesToWaitAfterActiveRestriction"] = rng.randint(0, 1440)
    mt = {}
    if rng.random() < 0.3:
        mt["excludedContactAddresses"] = [pick_address(rng, rng.choice(O.CHANNELS))]
    if rng.random() < 0.3:
        mt["excludeFromContactAddressRule"] = [pick_address(rng, rng.choice(O.CHANNELS))]
    return at, mt


class Scenario:
    def __init__(self, api, org, now, default_zone, rng, log):
        self.api, self.org, self.now, self.zone, self.rng, self.log = api, org, now, default_zone, rng, log
        self.clock = O.Clock(now)
        self.mismatches = []
        self.checks = 0

    def post(self, rest, body, ok=(200, 201, 202)):
        s, v = self.api.call("POST", rest, body)
        if s not in ok:
            self.mismatches.append(("setup", rest, body, s, v))
            return None
        return v

    def setup(self):
        rng, org, now = self.rng, self.org, self.now
        at, mt = gen_config(rng)
        if at:
            v = self.post_patch("attemptTrackers/configurations", at)
            if v:
                org.at_config.update(at)
        if mt:
            v = self.post_patch("messageTrackers/configurations", mt)
            if v:
                org.mt_config.update(mt)
        for e in gen_exclusions(rng, now):
            v = self.post("exclusions", e)
            if v:
                org.exclusions.append(dict(e, id=v["id"]))
        for c in gen_ccts(rng, now, self.zone):
            v = self.post("convenientContactTimes", c)
            if v:
                org.ccts.append(dict(c, id=v["id"]))
        for p in rng.sample(PRODUCTS, rng.randint(0, 2)):
            q = {"product": p, "totalQuota": rng.randint(0, 3), "productSold": rng.randint(0, 2)}
            v = self.post("quotaControls", q)
            if v:
                org.quotas.append(dict(q, id=v["id"]))
        for _ in range(rng.randint(0, 4)):
            t = gen_tracker(rng, False)
            v = self.post("attemptTrackers", t)
            if v:
                org.trackers.append(dict(t, id=v["id"]))
        for _ in range(rng.randint(0, 2)):
            t = gen_tracker(rng, True)
            v = self.post("messageTrackers", t)
            if v:
                org.message_trackers.append(dict(t, id=v["id"]))
        for _ in range(rng.randint(0, 60)):
            self.save(gen_attempt(rng, now), "SaveContactNoKeyCheck")

    def post_patch(self, rest, body):
        s, v = self.api.call("PATCH", rest, body)
        if s != 200:
            self.mismatches.append(("setup", rest, body, s, v))
            return None
        return v

    def save(self, a, op, key=None):
        body = dict(a, operationType=op)
        if key:
            body["key"] = key
        s, v = self.api.call("POST", "contactAttempts", body)
        live = key is not None and key in self.org.active
        if op == "SaveContactWithKeyCheck" and not live:
            if s != 400:
                self.mismatches.append(("save with a dead key", body, 400, s, v))
            return
        if s not in (200, 201, 202):
            self.mismatches.append(("save", body, s, v))
            return
        if op == "CancelContact":
            self.org.active.pop(key, None)
            return
        if op == "SaveContactWithKeyCheck":
            self.org.active.pop(key, None)
        stored = dict(a, status="Enabled")
        if self.rng.random() < 0.15:
            s2, v2 = self.api.call("PATCH", f"contactAttempts/{v['id']}", {"status": "Disabled", "version": v["version"]})
            if s2 == 200:
                stored["status"] = "Disabled"
            else:
                self.mismatches.append(("patch", v["id"], s2, v2))
        self.org.attempts.append(stored)
        if a.get("product") and a.get("productSold"):
            for q in self.org.quotas:
                if O.folded(q["product"]) == O.folded(a["product"]):
                    q["productSold"] = q.get("productSold", 0) + a["productSold"]

    def check(self, body):
        self.checks += 1
        want, rec = O.evaluate(self.org, body, self.now, self.clock, self.zone)
        if self.rng.random() < 0.25:
            # The GET variant: the same record as query parameters, lists comma-separated.
            q = {k: (",".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in body.items()}
            s, got = self.api.call("GET", "complianceStatuses?" + urllib.parse.urlencode(q))
        else:
            s, got = self.api.call("POST", "complianceStatuses", body)
        if s != 200 and s != 201:
            self.mismatches.append(("check status", body, s, got, want))
            return None
        diff = {f: (want[f], got.get(f)) for f in FIELDS if want[f] != got.get(f)}
        STATS[got.get("restrictionType") or ("allowed, starts" if got.get("restrictionStartTime") else "allowed")] += 1
        if got.get("messageType"):
            STATS["messageType " + got["messageType"]] += 1
        key = got.get("key")
        feature = self.org.at_config["enableActiveRecordFeature"]
        if want["restricted"]:
            if key is not None:
                diff["key"] = (None, key)
        elif feature:
            if key is None or (rec.key is not None and key != rec.key):
                diff["key"] = (rec.key or "a new key", key)
        if diff:
            self.mismatches.append(("check", body, diff, self.snapshot()))
        if not got.get("restricted") and feature and key is not None:
            life = timedelta(minutes=self.org.at_config["lifeTimeOfActiveRecord"])
            self.org.active[key] = (rec.address, rec.customer, rec.account, self.now + life)
        return key

    def invalid_check(self):
        """SPEC §10: an invalid record is 400 naming the field, and reserves nothing."""
        body = gen_record(self.rng, self.zone)
        field, value = self.rng.choice([("contactChannel", None), ("contactChannel", "Fax"),
                                         ("contactAddress", None), ("contactAddress", "   "),
                                         ("timeZone", "Mars/Olympus"), ("timeZone", "EST5EDT6")])
        if field == "contactAddress" and value is None and O.channel_of(body["contactChannel"]) != "Email":
            value = "no digits"
        if value is None:
            body.pop(field, None)
        else:
            body[field] = value
        s, got = self.api.call("POST", "complianceStatuses", body)
        scope = ((got or {}).get("error") or {}).get("errors", [{}])[0].get("scope")
        if s != 400 or scope != field:
            self.mismatches.append(("invalid check", body, (400, field), (s, got)))

    def change_rule(self):
        """PUT a fresh body over a rule, or DELETE it: the in-memory indexes must follow."""
        rng, org = self.rng, self.org
        kinds = [(org.exclusions, "exclusions", lambda: gen_exclusions(rng, self.now)),
                 (org.ccts, "convenientContactTimes", lambda: gen_ccts(rng, self.now, self.zone)),
                 (org.trackers, "attemptTrackers", lambda: [gen_tracker(rng, False)]),
                 (org.message_trackers, "messageTrackers", lambda: [gen_tracker(rng, True)]),
                 (org.quotas, "quotaControls",
                  lambda: [{"product": rng.choice(PRODUCTS), "totalQuota": rng.randint(0, 3),
                            "productSold": rng.randint(0, 2)}])]
        items, rest, fresh = rng.choice([k for k in kinds if k[0]] or [kinds[0]])
        if not items:
            return
        i = rng.randrange(len(items))
        old = items[i]
        if rng.random() < 0.4:
            s, v = self.api.call("DELETE", f"{rest}/{old['id']}")
            if s in (200, 204):
                items.pop(i)
            else:
                self.mismatches.append(("delete", rest, old, s, v))
            return
        bodies = fresh()
        if not bodies:
            return
        body = dict(bodies[0], version=old.get("_version", 1))
        s, v = self.api.call("PUT", f"{rest}/{old['id']}", body)
        if s == 200:
            body.pop("version")
            items[i] = dict(body, id=old["id"], _version=v["version"])
        elif s != 409:  # 409: the new identity (type/value/list, key/value, product) is taken
            self.mismatches.append(("put", rest, body, s, v))

    def snapshot(self):
        o = self.org
        return {"exclusions": o.exclusions, "ccts": o.ccts, "quotas": o.quotas, "trackers": o.trackers,
                "messageTrackers": o.message_trackers, "attempts": o.attempts, "atConfig": o.at_config,
                "mtConfig": o.mt_config, "active": {k: [str(x) for x in v] for k, v in o.active.items()}}

    def play(self, n):
        rng = self.rng
        keys = []
        for _ in range(n):
            x = rng.random()
            if x < 0.08 and keys:
                k = rng.choice(keys)
                a = gen_attempt(rng, self.now, 0)
                self.save(a, "SaveContactWithKeyCheck", k)
            elif x < 0.12 and keys:
                k = rng.choice(keys)
                a = gen_record(rng, None)
                a.pop("requiredChecks", None)
                self.save(a, "CancelContact", k)
            elif x < 0.17:
                self.save(gen_attempt(rng, self.now, 2), "SaveContactNoKeyCheck")
            elif x < 0.22:
                self.change_rule()
            elif x < 0.25:
                self.invalid_check()
            else:
                body = gen_record(rng, self.zone)
                if keys and rng.random() < 0.2:
                    body["key"] = rng.choice(keys)
                k = self.check(body)
                if k:
                    keys.append(k)


CONTACT_COLUMNS = ["recordId", "contactChannel", "contactAddress", "customer", "accountNumber", "ssn",
                   "contactListName", "numberType", "geocodes", "purpose", "timeZone", "product"]
HISTORY_COLUMNS = ["contactChannel", "contactAddress", "customer", "accountNumber", "timeOfContact", "timeZone",
                   "disposition", "numberType", "purpose", "geocodes", "status"]


def cell(v):
    if v is None:
        return ""
    if isinstance(v, list):
        return ",".join(map(str, v))
    return str(v)


def batch_round(scrub, work, name, sc, n_records, load):
    """The scenario's final rules and history as files, `scrub run` on fresh records, every
    output row against the oracle (batch has no active records, and every check runs)."""
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    org = sc.org
    rules = [{k: v for k, v in r.items() if not k.startswith("_")}
             for r in org.exclusions + org.ccts + org.quotas + org.trackers + org.message_trackers]
    with open(os.path.join(d, "rules.json"), "w") as f:
        json.dump(rules, f)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"attemptTrackers": org.at_config, "messageTrackers": org.mt_config}, f)
    with open(os.path.join(d, "history.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HISTORY_COLUMNS)
        for a in org.attempts:
            w.writerow([cell(a.get(c)) for c in HISTORY_COLUMNS])
    records = []
    for i in range(n_records):
        r = gen_record(sc.rng, sc.zone)
        r.pop("requiredChecks", None)
        r["recordId"] = f"R{i}"
        records.append(r)
    with open(os.path.join(d, "contacts.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CONTACT_COLUMNS)
        for r in records:
            w.writerow([cell(r.get(c)) for c in CONTACT_COLUMNS])
    out = os.path.join(d, "out.csv")
    p = subprocess.run([scrub, "run", "--contacts", os.path.join(d, "contacts.csv"), "--rules",
                        os.path.join(d, "rules.json"), "--history", os.path.join(d, "history.csv"), "--config",
                        os.path.join(d, "config.json"), "--as-of", O.fmt(sc.now), "--default-time-zone", sc.zone,
                        "--out", out, "--quiet"], capture_output=True, text=True)
    if p.returncode != 0:
        return [("batch run failed", name, p.returncode, p.stderr[-2000:])]
    bare = O.Org()
    bare.__dict__.update({k: v for k, v in org.__dict__.items() if k != "active"})
    bare.active = {}
    bad = []
    with open(out, newline="") as f:
        rows = {row["recordId"]: row for row in csv.DictReader(f)}
    for r in records:
        want, _ = O.evaluate(bare, r, sc.now, sc.clock, sc.zone)
        row = rows.get(r["recordId"])
        if row is None:
            bad.append(("batch row missing", name, r))
            continue
        got = {f: (row[f] or None) for f in FIELDS}
        got["restricted"] = got["restricted"] == "true"
        if got["availableQuota"] is not None:
            got["availableQuota"] = int(got["availableQuota"])
        diff = {f: (want[f], got[f]) for f in FIELDS if want[f] != got[f]}
        if diff:
            bad.append(("batch", name, r, diff))
    if load:
        bad += load_round(scrub, d, name, sc, bare, records)
    return bad


def load_round(scrub, d, name, sc, bare, records):
    """The same files through `scrub load` into a fresh store, served, and the same
    records checked over REST (active records off, so every answer stands alone)."""
    cfg = {"attemptTrackers": dict(bare.at_config, enableActiveRecordFeature=False),
           "messageTrackers": bare.mt_config}
    with open(os.path.join(d, "config-load.json"), "w") as f:
        json.dump(cfg, f)
    data = os.path.join(d, "store")
    p = subprocess.run([scrub, "load", "--data-dir", data, "--org", "o", "--rules", os.path.join(d, "rules.json"),
                        "--history", os.path.join(d, "history.csv"), "--config", os.path.join(d, "config-load.json")],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return [("scrub load failed", name, p.returncode, p.stderr[-2000:])]
    tokens = os.path.join(d, "tokens.toml")
    with open(tokens, "w") as f:
        f.write('[[tokens]]\norg = "o"\ntoken = "t"\n')
    port, srv = start(scrub, data, tokens, O.fmt(sc.now), sc.zone)
    bad = []
    try:
        api = Api(port, "o", "t")
        org = O.Org()
        org.__dict__.update(bare.__dict__)
        org.at_config = cfg["attemptTrackers"]
        org.active = {}
        for r in records:
            body = {k: v for k, v in r.items() if k != "recordId"}
            want, _ = O.evaluate(org, body, sc.now, sc.clock, sc.zone)
            s, got = api.call("POST", "complianceStatuses", body)
            if s != 200:
                bad.append(("loaded check status", name, body, s, got))
                continue
            diff = {f: (want[f], got.get(f)) for f in FIELDS if want[f] != got.get(f)}
            if diff:
                bad.append(("loaded", name, body, diff))
    finally:
        srv.terminate()
        srv.wait()
    return bad


def start(scrub, data, tokens, now_s, zone):
    port = free_port()
    srv = subprocess.Popen([scrub, "serve", "--data-dir", data, "--tokens", tokens, "--listen", f"127.0.0.1:{port}",
                            "--now", now_s, "--default-time-zone", zone, "--no-request-log"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return port, srv
        except OSError:
            if srv.poll() is not None:
                raise SystemExit(f"scrub serve exited with {srv.returncode}")
            time.sleep(0.1)
    raise SystemExit("scrub serve did not start")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scrub", default="target/release/scrub")
    ap.add_argument("--scenarios", type=int, default=40, help="scenarios per frozen instant")
    ap.add_argument("--checks", type=int, default=40, help="requests per scenario")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=60,
                    help="records per scenario scrubbed by `scrub run` on its final rules and history (0: none)")
    ap.add_argument("--load", type=int, default=1, help="also check the batch records on a store made by "
                    "`scrub load` from the same files (1, default) or not (0)")
    ap.add_argument("--show", type=int, default=5, help="disagreements to print in full")
    ap.add_argument("--instant", type=int, action="append", help="only these instants (0-based, repeatable)")
    ap.add_argument("--keep", help="work in this folder and keep it (stores, batch files)")
    args = ap.parse_args()
    total, bad = 0, []
    with (contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory()) as work:
        os.makedirs(work, exist_ok=True)
        tokens = os.path.join(work, "tokens.toml")
        with open(tokens, "w") as f:
            for i in range(args.scenarios):
                f.write(f'[[tokens]]\norg = "o{i}"\ntoken = "t{i}"\n\n')
        for n, (now_s, zone) in enumerate(INSTANTS):
            if args.instant and n not in args.instant:
                continue
            data = os.path.join(work, f"data{n}")
            now = O.parse_instant(now_s)
            scenarios = []
            # Play every scenario, kill -9 the server, start it again on the same store
            # and play on: answers after the restart must follow everything acknowledged.
            for life in range(2):
                port, srv = start(args.scrub, data, tokens, now_s, zone)
                try:
                    for i in range(args.scenarios):
                        if life == 0:
                            rng = random.Random(f"{args.seed}-{n}-{i}")
                            scenarios.append(Scenario(None, O.Org(), now, zone, rng, None))
                        sc = scenarios[i]
                        sc.api = Api(port, f"o{i}", f"t{i}")
                        if life == 0:
                            sc.setup()
                        sc.play(args.checks if life == 0 else max(1, args.checks // 3))
                finally:
                    srv.kill() if life == 0 else srv.terminate()
                    srv.wait()
            for i, sc in enumerate(scenarios):
                total += sc.checks
                bad += [(now_s, zone, i, m) for m in sc.mismatches]
                if args.batch:
                    found = batch_round(args.scrub, work, f"batch{n}-{i}", sc, args.batch, args.load)
                    total += args.batch * (1 + args.load)
                    bad += [(now_s, zone, i, m) for m in found]
            print(f"{now_s} ({zone}): {args.scenarios} scenarios done, {len(bad)} disagreements so far",
                  file=sys.stderr)
    print(f"{total} checks, {len(bad)} disagreements")
    print("answers:", ", ".join(f"{k} {v}" for k, v in sorted(STATS.items())))
    per = Counter(f"instant {INSTANTS.index((b[0], b[1]))} scenario {b[2]}: {b[3][0]}" for b in bad)
    for k, v in sorted(per.items()):
        print(f"  {k}: {v}")
    for b in bad[: args.show]:
        print(json.dumps(b, default=str, indent=1)[:6000])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
