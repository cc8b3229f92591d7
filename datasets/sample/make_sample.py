#!/usr/bin/env python3
"""Writes the bundled sample dataset (deterministic: fixed seed).

The files are committed; run this only to regenerate them:
    python3 datasets/sample/make_sample.py
As-of for the sample: 2026-11-02T15:00:00Z (Monday 10:00 in New York).
"""
import csv, json, os, random
from datetime import datetime, timedelta, timezone

R = random.Random(20261102)
HERE = os.path.dirname(os.path.abspath(__file__))
ASOF = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
ZONES = [("America/New_York", 0.45, ["NY", "NJ", "FL", "GA"]), ("America/Chicago", 0.25, ["IL", "TX", "MN"]),
         ("America/Denver", 0.08, ["CO", "UT"]), ("America/Phoenix", 0.04, ["AZ"]),
         ("America/Los_Angeles", 0.15, ["CA", "WA", "OR"]), ("Pacific/Honolulu", 0.03, ["HI"])]
AREA = {"NY": "212", "NJ": "201", "FL": "305", "GA": "404", "IL": "312", "TX": "214", "MN": "612", "CO": "303",
        "UT": "801", "AZ": "602", "CA": "415", "WA": "206", "OR": "503", "HI": "808"}
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jon", "Kai", "Lena", "Marco",
         "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor", "Wen", "Yusuf", "Zoe"]
LAST = ["Garcia", "Smith", "Nguyen", "Okafor", "Kowalski", "Haddad", "Lee", "Silva", "Brown", "Patel", "Rossi"]

def iso(t):
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")

def pick_zone():
    x, acc = R.random(), 0
    for z, w, states in ZONES:
        acc += w
        if x <= acc:
            return z, R.choice(states)
    return ZONES[0][0], "NY"

def phone(state, styled=True):
    n = f"{AREA[state]}555{R.randint(0, 9999):04d}"
    if not styled:
        return n
    return R.choice([n, f"({n[:3]}) {n[3:6]}-{n[6:]}", f"+1 {n[:3]}-{n[3:6]}-{n[6:]}", f"1{n}"])

# customers with accounts and contact points
customers = []
for i in range(120):
    zone, state = pick_zone()
    first, last = R.choice(FIRST), R.choice(LAST)
    cust = f"CUST-{1001 + i}"
    accounts = [f"AC-{5000 + i * 3 + k}" for k in range(R.choice([1, 1, 2, 3]))]
    phones = [phone(state, False) for _ in range(R.choice([1, 2, 2, 3]))]
    email = f"{first}.{last}{i}@example.com".lower()
    customers.append(dict(cust=cust, name=f"{first} {last}", zone=zone, state=state, accounts=accounts,
                          phones=phones, email=email, ssn=f"{R.randint(100, 899)}-{R.randint(10, 99)}-{R.randint(1000, 9999)}",
                          zip=f"{R.randint(501, 99950):05d}"))

LISTS = ["Collections-Early", "Collections-Late", "CardSales", "Service"]
PRODUCTS = ["Gold Card", "Platinum Card", "Travel Insurance", ""]
rows = []
rid = 0
for c in customers:
    for acct in c["accounts"]:
        for ch in ["Voice", "Voice", "SMS", "Email"][: R.choice([2, 3, 4])]:
            rid += 1
            addr = c["email"] if ch == "Email" else R.choice(c["phones"])
            if ch != "Email" and R.random() < 0.5:
                addr = R.choice([f"({addr[:3]}) {addr[3:6]}-{addr[6:]}", f"+1 {addr}", addr])
            if ch == "Email" and R.random() < 0.2:
                addr = addr.upper()
            lst = R.choice(LISTS)
            prod = R.choice(PRODUCTS) if lst == "CardSales" else ""
            rows.append({"recordId": f"R{rid:05d}", "name": c["name"], "contactChannel": ch, "contactAddress": addr,
                         "customer": c["cust"], "accountNumber": acct, "ssn": c["ssn"], "contactListName": lst,
                         "numberType": R.choice(["1", "1", "2", "3"]) if ch != "Email" else "",
                         "geocodes": f"US,{c['state']}", "purpose": "Collections" if lst.startswith("Coll") else ("Sales" if lst == "CardSales" else "Service"),
                         "timeZone": c["zone"] if R.random() > 0.05 else "", "product": prod, "zip": c["zip"],
                         "balance": f"{R.randint(0, 99999) / 100:.2f}"})
# a few invalid rows (they go to rejects, with a reason)
bad = [dict(rows[0], recordId="R90001", contactChannel="Fax"),
       dict(rows[1], recordId="R90002", contactAddress="n/a"),
       dict(rows[2], recordId="R90003", timeZone="America/Springfield"),
       dict(rows[3], recordId="R90004", numberType="mobile"),
       dict(rows[4], recordId="R90005", contactChannel="")]
rows += bad
R.shuffle(rows)
cols = list(rows[0].keys())
with open(os.path.join(HERE, "contacts.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=cols)
    w.writeheader()
    w.writerows(rows)

valid = [r for r in rows if r["recordId"] < "R9"]
def digits(s):
    return "".join(ch for ch in s if ch.isdigit())

# ---------------------------------------------------------------- history
DISPS = ["NoAnswer"] * 6 + ["Busy"] * 2 + ["Conversation", "MessageLeft", "PromiseToPay", "WrongNumber"]
hist = []
hot = R.sample(valid, 25)  # a few accounts called often
for i in range(420):
    r = R.choice(hot) if R.random() < 0.55 else R.choice(valid)
    t = ASOF - timedelta(minutes=R.randint(5, 10 * 24 * 60))
    ch = r["contactChannel"] if R.random() < 0.85 else R.choice(["Voice", "SMS"])
    addr = r["contactAddress"] if ch == r["contactChannel"] else digits(r["contactAddress"]) or "2125550000"
    disp = "Delivered" if ch in ("SMS", "Email") else R.choice(DISPS)
    hist.append({"contactChannel": ch, "contactAddress": addr, "customer": r["customer"],
                 "accountNumber": r["accountNumber"], "timeOfContact": iso(t), "timeZone": r["timeZone"],
                 "disposition": disp, "numberType": r["numberType"] or "1", "purpose": r["purpose"],
                 "geocodes": r["geocodes"], "status": "Disabled" if R.random() < 0.03 else "Enabled"})
hist.sort(key=lambda h: h["timeOfContact"])
with open(os.path.join(HERE, "history.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(hist[0].keys()))
    w.writeheader()
    w.writerows(hist)

# ---------------------------------------------------------------- rules
def rid_(p, i):
    return f"{p}-{i:04d}"

ex = []
vs = [r for r in valid if r["contactChannel"] == "Voice"]
for i, r in enumerate(R.sample(vs, 12)):
    ex.append({"id": rid_("ex-dnc", i), "exclusionType": "Voice", "exclusionValue": r["contactAddress"], "reason": "Customer asked not to be called"})
for i, r in enumerate(R.sample(vs, 4)):
    ex.append({"id": rid_("ex-list", i), "exclusionType": "Voice", "exclusionValue": r["contactAddress"],
               "contactListName": r["contactListName"], "reason": "Opted out of this campaign"})
for i, r in enumerate(R.sample(vs, 4)):
    ex.append({"id": rid_("ex-timed", i), "exclusionType": "Voice", "exclusionValue": r["contactAddress"],
               "startTime": iso(ASOF - timedelta(days=2)), "endTime": iso(ASOF + timedelta(days=R.randint(1, 20))),
               "reason": "Hardship pause"})
for i, r in enumerate(R.sample(vs, 3)):
    ex.append({"id": rid_("ex-future", i), "exclusionType": "Voice", "exclusionValue": r["contactAddress"],
               "startTime": iso(ASOF + timedelta(hours=R.randint(2, 72))), "reason": "Bankruptcy filing effective"})
for i, r in enumerate(R.sample([r for r in valid if r["contactChannel"] == "SMS"], 5)):
    ex.append({"id": rid_("ex-sms", i), "exclusionType": "SMS", "exclusionValue": r["contactAddress"], "reason": "Replied STOP"})
for i, r in enumerate(R.sample([r for r in valid if r["contactChannel"] == "Email"], 5)):
    ex.append({"id": rid_("ex-email", i), "exclusionType": "Email", "exclusionValue": r["contactAddress"].lower(), "reason": "Unsubscribed"})
for i, r in enumerate(R.sample(valid, 4)):
    ex.append({"id": rid_("ex-acct", i), "exclusionType": "Account", "exclusionValue": r["accountNumber"], "reason": "Account in litigation"})
for i, r in enumerate(R.sample(valid, 3)):
    ex.append({"id": rid_("ex-ssn", i), "exclusionType": "SSN", "exclusionValue": r["ssn"], "reason": "Deceased"})
with open(os.path.join(HERE, "rules", "01-exclusions.json"), "w") as f:
    json.dump({"kind": "via#exclusionCollection", "totalItems": len(ex), "exclusions": ex}, f, indent=1)

# an act load file: adds, an update with a later end, a delete
act_rows = [{"operation": "A", "exclusionType": "Voice", "exclusionValue": digits(r["contactAddress"]),
             "contactListName": "", "reason": "Internal DNC", "startTime": "", "endTime": ""} for r in R.sample(vs, 6)]
act_rows.append({"operation": "D", "exclusionType": ex[0]["exclusionType"], "exclusionValue": ex[0]["exclusionValue"],
                 "contactListName": "", "reason": "Consent re-obtained", "startTime": "", "endTime": ""})
with open(os.path.join(HERE, "rules", "02-internal-dnc.act"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(act_rows[0].keys()))
    w.writeheader()
    w.writerows(act_rows)

WEEK = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
cct = []
cs = R.sample(customers, 14)
for i, c in enumerate(cs[:4]):
    cct.append({"id": rid_("cct-all", i), "contactKeyType": "Customer", "contactKey": c["cust"], "contactValueType": "All",
                "reason": "Prefers business hours", "convenientTimes": [{"dayOfWeek": WEEK, "startTime": "09:00", "endTime": "17:00"}]})
for i, c in enumerate(cs[4:8]):
    cct.append({"id": rid_("cct-voice", i), "contactKeyType": "Customer", "contactKey": c["cust"], "contactValueType": "Voice",
                "reason": "Evenings only", "convenientTimes": [{"dayOfWeek": WEEK, "startTime": "18:00", "endTime": "21:00"},
                                                                 {"dayOfWeek": ["Saturday"], "startTime": "10:00", "endTime": "14:00"}]})
for i, c in enumerate(cs[8:11]):
    cct.append({"id": rid_("cct-number", i), "contactKeyType": "Customer", "contactKey": c["cust"], "contactValueType": "Voice",
                "contactValue": c["phones"][0], "reason": "Work phone: lunch only",
                "convenientTimes": [{"dayOfWeek": WEEK, "startTime": "12:00", "endTime": "13:00"}]})
for i, c in enumerate(cs[11:14]):
    cct.append({"id": rid_("cct-acct-sms", i), "contactKeyType": "Account", "contactKey": c["accounts"][0], "contactValueType": "SMS",
                "reason": "Night shift worker", "endTime": iso(ASOF + timedelta(days=30)),
                "convenientTimes": [{"dayOfWeek": WEEK + ["Saturday", "Sunday"], "startTime": "22:00", "endTime": "02:00"}]})
with open(os.path.join(HERE, "rules", "03-convenient-contact-times.json"), "w") as f:
    json.dump({"convenientContactTimes": cct}, f, indent=1)
c = R.choice(customers)
with open(os.path.join(HERE, "rules", "04-account-hours.cct"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["operation", "contactKeyType", "contactKey", "contactValueType", "contactValue", "reason", "endTime", "convenientTimes"])
    for c in R.sample(customers, 3):
        w.writerow(["A", "Account", c["accounts"][-1], "All", "", "Agreed in settlement", "", "Mon-Fri 08:00-20:00; Sat 09:00-13:00"])

trackers = [
    {"id": "at-regf-7in7", "attemptTrackerName": "Reg F 7 calls in 7 days per account", "typeOfTracker": "Account",
     "numberOfAttempts": 7, "thresholdType": "Day", "threshold": 7, "dispositions": [], "contactChannels": ["Voice"],
     "acrossContactChannels": False, "excludeContactChannels": False, "enabled": True},
    {"id": "at-regf-conversation", "attemptTrackerName": "Reg F 1 call in 7 days after a conversation",
     "typeOfTracker": "Account", "numberOfAttempts": 1, "thresholdType": "Day", "threshold": 7,
     "dispositions": ["Conversation", "PromiseToPay"], "contactChannels": ["Voice"], "acrossContactChannels": False,
     "excludeContactChannels": False},
    {"id": "at-address-3-per-day", "attemptTrackerName": "3 attempts per number per 24 hours", "typeOfTracker": "ContactAddress",
     "numberOfAttempts": 3, "thresholdType": "Hour", "threshold": 24, "dispositions": [], "contactChannels": ["Email"],
     "excludeContactChannels": True, "acrossContactChannels": True},
    {"id": "at-ny-daily", "attemptTrackerName": "NY: 2 attempts per customer per day", "typeOfTracker": "Customer",
     "numberOfAttempts": 2, "thresholdType": "CurrentDay", "threshold": 1, "dispositions": [], "geocodes": ["NY"]},
    {"id": "at-sms-weekly", "attemptTrackerName": "SMS: 4 per customer and number per week", "typeOfTracker": "CustomerContactAddress",
     "numberOfAttempts": 4, "thresholdType": "CurrentWeek", "threshold": 1, "dispositions": [], "contactChannels": ["SMS"],
     "acrossContactChannels": False, "excludeContactChannels": False},
]
with open(os.path.join(HERE, "rules", "05-attempt-trackers.json"), "w") as f:
    json.dump({"attemptTrackers": trackers}, f, indent=1)
mt = [{"id": "mt-one-message-per-week", "messageTrackerName": "One voicemail per account per week", "typeOfTracker": "Account",
       "numberOfAttempts": 1, "thresholdType": "Week", "threshold": 1, "thresholdActionType": "NoPlayMessage",
       "dispositions": ["MessageLeft"]},
      {"id": "mt-standard-after-two", "messageTrackerName": "Standard message after 2 in a month", "typeOfTracker": "Customer",
       "numberOfAttempts": 2, "thresholdType": "CurrentMonth", "threshold": 1, "thresholdActionType": "PlayStandardMessage",
       "dispositions": ["MessageLeft", "NoAnswer"]}]
with open(os.path.join(HERE, "rules", "06-message-trackers.json"), "w") as f:
    json.dump(mt, f, indent=1)
quotas = [{"id": "qc-gold", "product": "Gold Card", "productDescription": "Gold credit card", "totalQuota": 500, "productSold": 212, "unitValue": 95},
          {"id": "qc-platinum", "product": "Platinum Card", "productDescription": "Platinum credit card", "totalQuota": 100, "productSold": 100, "unitValue": 450},
          {"id": "qc-travel", "product": "Travel Insurance", "productDescription": "Annual travel cover", "totalQuota": 250, "productSold": 9, "unitValue": 60}]
with open(os.path.join(HERE, "rules", "07-quota-controls.json"), "w") as f:
    json.dump({"quotaControls": quotas}, f, indent=1)

exempt = R.sample(vs, 3)
config = {"attemptTrackers": {"excludeFromContactAddressRule": [exempt[0]["contactAddress"]],
                              "excludedContactAddresses": [exempt[1]["contactAddress"], "BLANK"],
                              "enableActiveRecordFeature": True, "lifeTimeOfActiveRecord": 120,
                              "minutesToWaitAfterActiveRestriction": 10},
          "messageTrackers": {"excludedContactAddresses": [exempt[2]["contactAddress"]]},
          "exclusions": {"retainDays": 14, "retainNoEndTime": False},
          "convenientContactTimes": {"retainDays": 14}}
with open(os.path.join(HERE, "config.json"), "w") as f:
    json.dump(config, f, indent=1)
with open(os.path.join(HERE, "asof.txt"), "w") as f:
    f.write(iso(ASOF) + "\n")
print(f"{len(rows)} contacts, {len(hist)} attempts, {len(ex)} exclusions, {len(cct)} CCTs")
