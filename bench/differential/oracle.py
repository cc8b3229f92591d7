"""An independent reading of SPEC.md §2–§9 in plain Python: the answer a
POST complianceStatuses must give for one record, given the rules, history,
configurations and active records of one org at one instant.

Written from SPEC.md alone, not from scrub's source, so that the two can be
compared (see run.py). Slow and simple on purpose: convenient-contact-time
windows are found by stepping minute by minute through local time.
"""

from datetime import datetime, timedelta, timezone, date
from zoneinfo import ZoneInfo

UTC = timezone.utc
CHANNELS = ("Voice", "SMS", "Email")
CHECKS = ("exclusions", "convenientContactTimes", "quotaControls", "attemptTrackers", "messageTrackers")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# ---------------------------------------------------------------- §1, §2 values

def absent(v):
    return v is None or (isinstance(v, str) and v.strip() == "") or (isinstance(v, list) and not v)


def trimmed(v):
    return None if absent(v) else v.strip()


def folded(v):
    return None if absent(v) else v.strip().lower()


def digits(v):
    if absent(v):
        return None
    d = "".join(ch for ch in v if "0" <= ch <= "9")
    return d or None


def address_key(channel, value):
    if channel in ("Voice", "SMS"):
        return digits(value)
    if channel == "Email":
        return folded(value)
    return None


def channel_of(v):
    for c in CHANNELS:
        if v is not None and v.strip().lower() == c.lower():
            return c
    return None


def parse_instant(s):
    if absent(s):
        return None
    t = datetime.fromisoformat(s.strip().replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def fmt(t):
    if t is None:
        return None
    t = t.astimezone(UTC)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


def local_to_instant(naive, zone):
    """§1: a local time in a DST gap becomes the first instant after the gap; an
    ambiguous one the earlier instant."""
    early = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if early.astimezone(zone).replace(tzinfo=None) == naive:
        return early
    # In a gap: fold=0 used the offset before the transition (an instant after
    # it), fold=1 the one after (an instant before it). Search the transition.
    lo = int(naive.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    hi = int(early.timestamp())
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def local_midnight(d, zone):
    return local_to_instant(datetime(d.year, d.month, d.day), zone)


# ---------------------------------------------------------------- the org's state

class Org:
    """Everything one tenant has, in the oracle's own form."""

    def __init__(self):
        self.exclusions = []   # dicts as posted, plus "id"
        self.ccts = []
        self.quotas = []
        self.trackers = []
        self.message_trackers = []
        self.attempts = []     # dicts as posted, plus "status"
        self.at_config = {"excludedContactAddresses": [], "excludeFromContactAddressRule": [],
                          "enableActiveRecordFeature": True, "lifeTimeOfActiveRecord": 120,
                          "minutesToWaitAfterActiveRestriction": 10}
        self.mt_config = {"excludedContactAddresses": [], "excludeFromContactAddressRule": []}
        self.active = {}       # key -> (address key, customer, account, expires)


class Record:
    def __init__(self, body, default_zone):
        self.channel = channel_of(body.get("contactChannel"))
        self.address = address_key(self.channel, body.get("contactAddress"))
        self.customer = trimmed(body.get("customer"))
        self.account = trimmed(body.get("accountNumber"))
        self.ssn = digits(body.get("ssn"))
        self.list = folded(body.get("contactListName"))
        self.number_type = body.get("numberType")
        self.geocodes = {folded(g) for g in (body.get("geocodes") or []) if not absent(g)}
        self.purpose = folded(body.get("purpose"))
        self.product = folded(body.get("product"))
        self.zone = ZoneInfo(trimmed(body.get("timeZone")) or default_zone)
        self.key = trimmed(body.get("key"))
        checks = body.get("requiredChecks")
        if absent(checks) or "all" in [c.lower() for c in checks]:
            self.checks = set(CHECKS)
        else:
            self.checks = {c for c in CHECKS if c.lower() in [x.lower() for x in checks]}


# ---------------------------------------------------------------- §3 choosing

def latest_then_smallest_id(items):
    """items: (end or None, id or None, payload). Latest end (None = never) wins,
    then the smallest id in byte order (no id sorts first)."""
    # Sort so the winner is first: never-ending first, then latest end, then smallest id.
    def key(it):
        end, rid, _ = it
        never = 0 if end is None else 1
        return (never, -end.timestamp() if end is not None else 0.0,
                (0, b"") if rid is None else (1, rid.encode()))
    return sorted(items, key=key)[0]


# ---------------------------------------------------------------- §4 exclusions

def exclusion_matches(e, r):
    t = e["exclusionType"].lower()
    if t == "account":
        ok = r.account is not None and trimmed(e["exclusionValue"]) == r.account
    elif t == "ssn":
        ok = r.ssn is not None and digits(e["exclusionValue"]) == r.ssn
    else:
        ch = channel_of(e["exclusionType"]) if t != "phone" else "Voice"
        ok = r.channel == ch and address_key(ch, e["exclusionValue"]) == r.address
    if not ok:
        return False
    lst = folded(e.get("contactListName"))
    return lst is None or lst == r.list


def active_at(e, t):
    s, end = parse_instant(e.get("startTime")), parse_instant(e.get("endTime"))
    return (s is None or s <= t) and (end is None or t < end)


def check_exclusions(org, r, now):
    matching = [e for e in org.exclusions if exclusion_matches(e, r)]
    active = [e for e in matching if active_at(e, now)]
    if active:
        t = now
        while True:
            live = [e for e in matching if active_at(e, t)]
            if not live:
                end = t
                break
            ends = [parse_instant(e.get("endTime")) for e in live]
            if any(x is None for x in ends):
                end = None
                break
            t = max(ends)
        _, _, e = latest_then_smallest_id([(parse_instant(e.get("endTime")), e.get("id"), e) for e in active])
        kind = {"account": "Account", "voice": "Voice", "phone": "Voice", "sms": "SMS", "email": "Email",
                "ssn": "SSN"}[e["exclusionType"].lower()]
        return {"restrictionType": "Exclusion" + kind, "restrictedRuleId": e.get("id"),
                "restrictionEndTime": end}, []
    starts = []
    for e in matching:
        s, end = parse_instant(e.get("startTime")), parse_instant(e.get("endTime"))
        if s is not None and s > now and (end is None or end > s):
            starts.append(s)
    return None, starts


# ---------------------------------------------------------------- §5 convenient contact times

def hhmm(s):
    h, m = s.split(":")
    return int(h) * 60 + int(m)


class Clock:
    """Local weekday and second-of-day at each whole minute after now, per zone:
    window status is constant within a minute (windows and zone offsets are in
    whole minutes), so stepping minutes finds every opening and closing."""

    def __init__(self, now):
        self.now = now
        self.base = now.replace(second=0, microsecond=0)
        self.cache = {}

    def minutes(self, zone):
        k = str(zone)
        if k not in self.cache:
            out = []
            for i in range(0, 192 * 60 + 2):
                t = self.base + timedelta(minutes=i)
                lt = t.astimezone(zone)
                out.append((t, lt.weekday(), lt.hour * 60 + lt.minute))
            self.cache[k] = out
        return self.cache[k]


def window_open(windows, wd, minute):
    for w in windows:
        days = {DAYS.index(d) for d in w["days"]}
        s, e = w["start"], w["end"]
        if e > s:
            if wd in days and s <= minute < e:
                return True
        else:
            if (wd in days and minute >= s) or ((wd - 1) % 7 in days and minute < e):
                return True
    return False


def cct_windows(c):
    out = []
    for w in c.get("convenientTimes") or []:
        days = w["dayOfWeek"]
        if isinstance(days, str):
            days = [days]
        norm = []
        for d in days:
            for full in DAYS:
                if full.lower() == d.strip().lower() or full[:3].lower() == d.strip().lower():
                    norm.append(full)
        out.append({"days": norm, "start": hhmm(w["startTime"]), "end": hhmm(w["endTime"])})
    return out


def cct_open_now(windows, now, zone):
    lt = now.astimezone(zone)
    return window_open(windows, lt.weekday(), lt.hour * 60 + lt.minute)


def check_ccts(org, r, now, clock):
    starts = []
    for key_type, key in (("Customer", r.customer), ("Account", r.account)):
        if key is None:
            continue
        tiers = {}
        for c in org.ccts:
            if c["contactKeyType"].lower() != key_type.lower() or trimmed(c["contactKey"]) != key:
                continue
            end = parse_instant(c.get("endTime"))
            if end is not None and not now < end:
                continue
            vt = c["contactValueType"].lower()
            if vt == "all":
                tiers.setdefault(0, c)
                continue
            ch = channel_of(c["contactValueType"])
            if r.channel != ch:
                continue
            value = address_key(ch, c.get("contactValue"))
            if value is None:
                tiers.setdefault(1, c)
            elif value == r.address:
                tiers.setdefault(2, c)
        if not tiers:
            continue
        tier = max(tiers)
        c = tiers[tier]
        windows = cct_windows(c)
        end = parse_instant(c.get("endTime"))
        limit = now + timedelta(hours=192)
        steps = clock.minutes(r.zone)
        if not cct_open_now(windows, now, r.zone):
            nxt = None
            for t, wd, m in steps[1:]:
                if t > limit:
                    break
                if t > now and window_open(windows, wd, m):
                    nxt = t
                    break
            cands = [x for x in (nxt, end) if x is not None]
            suffix = {0: "", 1: "No" + (r.channel or ""), 2: r.channel or ""}[tier]
            return {"restrictionType": "ConvenientContactTime" + key_type + suffix,
                    "restrictedRuleId": c.get("id"), "restrictionEndTime": min(cands) if cands else None}, []
        for t, wd, m in steps[1:]:
            if t > limit:
                break
            if t > now and not window_open(windows, wd, m):
                if end is None or t < end:
                    starts.append(t)
                break
    return None, starts


# ---------------------------------------------------------------- §6 quotas

def check_quotas(org, r):
    if r.product is None:
        return None, None
    for q in org.quotas:
        if folded(q["product"]) == r.product:
            avail = q["totalQuota"] - q.get("productSold", 0)
            if avail <= 0:
                return {"restrictionType": "QuotaExhausted", "restrictedRuleId": q.get("id"),
                        "restrictionEndTime": None}, avail
            return None, avail
    return None, None


# ---------------------------------------------------------------- §7, §9 trackers

def exempt(entries, r):
    for e in entries or []:
        if e.strip() == "BLANK":
            if r.address is None:
                return True
        elif address_key(r.channel, e) == r.address:
            return True
    return False


def tracker_channels(t, message):
    if message:
        return set(CHANNELS), True
    has = any(k in t for k in ("contactChannels", "acrossContactChannels", "excludeContactChannels"))
    if not has:
        return set(CHANNELS), True
    listed = {channel_of(c) for c in t.get("contactChannels") or []}
    if t.get("excludeContactChannels"):
        c = set(CHANNELS) - listed
    else:
        c = listed
    return c, bool(t.get("acrossContactChannels"))


def key_fields(kind):
    k = kind.lower()
    return {"customer": ("customer",), "contactaddress": ("address",), "phone": ("address",),
            "customercontactaddress": ("customer", "address"), "customerphone": ("customer", "address"),
            "account": ("account",), "accountcontactaddress": ("account", "address")}[k]


def api_kind(kind):
    return {"phone": "ContactAddress", "customerphone": "CustomerContactAddress", "customer": "Customer",
            "contactaddress": "ContactAddress", "customercontactaddress": "CustomerContactAddress",
            "account": "Account", "accountcontactaddress": "AccountContactAddress"}[kind.lower()]


def applies(t, r, config, message):
    if t.get("enabled") is False:
        return False
    chans, _ = tracker_channels(t, message)
    if r.channel not in chans:
        return False
    fields = key_fields(t["typeOfTracker"])
    for f in fields:
        if getattr(r, f) is None:
            return False
    if t.get("numberTypes") and r.number_type not in t["numberTypes"]:
        return False
    if t.get("purposes") and r.purpose not in {folded(p) for p in t["purposes"]}:
        return False
    if t.get("geocodes") and not (r.geocodes & {folded(g) for g in t["geocodes"]}):
        return False
    if exempt(config["excludedContactAddresses"], r):
        return False
    if "address" in fields and exempt(config["excludeFromContactAddressRule"], r):
        return False
    return True


def window_start(t, r, now):
    kind, T = t["thresholdType"].lower(), t.get("threshold") or 1
    today = now.astimezone(r.zone).date()
    if kind == "minute":
        return now - timedelta(minutes=T), False
    if kind == "hour":
        return now - timedelta(hours=T), False
    if kind == "day":
        return local_midnight(today - timedelta(days=T - 1), r.zone), True
    if kind == "week":
        return local_midnight(today - timedelta(days=7 * T - 1), r.zone), True
    if kind == "currentday":
        return local_midnight(today, r.zone), True
    if kind == "currentweek":
        return local_midnight(today - timedelta(days=today.weekday()), r.zone), True
    if kind == "currentmonth":
        return local_midnight(today.replace(day=1), r.zone), True
    raise ValueError(kind)


def counted(t, r, org, now, message):
    chans, across = tracker_channels(t, message)
    start, inclusive = window_start(t, r, now)
    fields = key_fields(t["typeOfTracker"])
    out = []
    for a in org.attempts:
        if (a.get("status") or "Enabled").lower() != "enabled":
            continue
        ch = channel_of(a.get("contactChannel"))
        if across:
            if ch not in chans:
                continue
        elif ch != r.channel:
            continue
        if "customer" in fields and trimmed(a.get("customer")) != r.customer:
            continue
        if "account" in fields and trimmed(a.get("accountNumber")) != r.account:
            continue
        if "address" in fields and address_key(ch, a.get("contactAddress")) != r.address:
            continue
        if t.get("dispositions") and folded(a.get("disposition")) not in {folded(d) for d in t["dispositions"]}:
            continue
        if t.get("numberTypes") and a.get("numberType") not in t["numberTypes"]:
            continue
        if t.get("purposes") and folded(a.get("purpose")) not in {folded(p) for p in t["purposes"]}:
            continue
        if t.get("geocodes") and not ({folded(g) for g in a.get("geocodes") or []} & {folded(g) for g in t["geocodes"]}):
            continue
        at = parse_instant(a["timeOfContact"])
        if at > now:
            continue
        if (inclusive and at < start) or (not inclusive and at <= start):
            continue
        out.append(at)
    return sorted(out)


def tracker_end(t, r, now, times):
    kind, T = t["thresholdType"].lower(), t.get("threshold") or 1
    N = t["numberOfAttempts"]
    a = times[len(times) - N]  # a_{k-N+1}, 1-based
    today = now.astimezone(r.zone).date()
    if kind == "minute":
        return a + timedelta(minutes=T)
    if kind == "hour":
        return a + timedelta(hours=T)
    if kind == "day":
        return local_midnight(a.astimezone(r.zone).date() + timedelta(days=T), r.zone)
    if kind == "week":
        return local_midnight(a.astimezone(r.zone).date() + timedelta(days=7 * T), r.zone)
    if kind == "currentday":
        return local_midnight(today + timedelta(days=1), r.zone)
    if kind == "currentweek":
        return local_midnight(today + timedelta(days=7 - today.weekday()), r.zone)
    if kind == "currentmonth":
        nm = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
        return local_midnight(nm, r.zone)
    raise ValueError(kind)


def check_active(org, r, now):
    cfg = org.at_config
    if not cfg["enableActiveRecordFeature"]:
        return None
    live = [(k, v) for k, v in org.active.items() if v[3] > now and k != r.key]
    wait = now + timedelta(minutes=cfg["minutesToWaitAfterActiveRestriction"])
    addr_exempt = exempt(cfg["excludedContactAddresses"], r) or exempt(cfg["excludeFromContactAddressRule"], r)
    blocks = []
    if not addr_exempt:
        blocks.append(("AttemptTrackerBlockContactAddress", 0, r.address))
    blocks.append(("AttemptTrackerBlockCustomer", 1, r.customer))
    blocks.append(("AttemptTrackerBlockAccount", 2, r.account))
    for kind, i, value in blocks:
        if value is not None and any(v[i] == value for _, v in live):
            return {"restrictionType": kind, "restrictedRuleId": None, "restrictionEndTime": wait}
    return None


def check_trackers(org, r, now):
    hits = []
    for t in org.trackers:
        if not applies(t, r, org.at_config, False):
            continue
        N = t["numberOfAttempts"]
        if N == 0:
            hits.append((None, t.get("id"), t))
            continue
        times = counted(t, r, org, now, False)
        if len(times) >= N:
            hits.append((tracker_end(t, r, now, times), t.get("id"), t))
    if not hits:
        return None
    end, _, t = latest_then_smallest_id(hits)
    return {"restrictionType": "AttemptTracker" + api_kind(t["typeOfTracker"]) + r.channel,
            "restrictedRuleId": t.get("id"), "restrictedRuleName": t.get("attemptTrackerName"),
            "restrictionEndTime": end}


def message_type(org, r, now):
    actions = set()
    for t in org.message_trackers:
        if not applies(t, r, org.mt_config, True):
            continue
        N = t["numberOfAttempts"]
        if N == 0 or len(counted(t, r, org, now, True)) >= N:
            actions.add((t.get("thresholdActionType") or "NoPlayMessage").lower())
    if "noplaymessage" in actions:
        return "CannotPlay"
    if "playstandardmessage" in actions:
        return "CanPlayStandard"
    return "CanPlay"


# ---------------------------------------------------------------- §3 evaluation

def evaluate(org, body, now, clock, default_zone="UTC"):
    """The expected response fields (key aside) for one record."""
    r = Record(body, default_zone)
    res = {"restricted": False, "restrictionType": None, "restrictedRuleId": None, "restrictedRuleName": None,
           "restrictionStartTime": None, "restrictionEndTime": None, "messageType": None, "availableQuota": None}
    starts = []

    def restrict(hit):
        res.update({"restricted": True, "restrictionType": hit["restrictionType"],
                    "restrictedRuleId": hit.get("restrictedRuleId"),
                    "restrictedRuleName": hit.get("restrictedRuleName"),
                    "restrictionEndTime": fmt(hit.get("restrictionEndTime"))})
        return res, r

    if "exclusions" in r.checks:
        hit, s = check_exclusions(org, r, now)
        if hit:
            return restrict(hit)
        starts += s
    if "convenientContactTimes" in r.checks:
        hit, s = check_ccts(org, r, now, clock)
        if hit:
            return restrict(hit)
        starts += s
    if "quotaControls" in r.checks:
        hit, avail = check_quotas(org, r)
        res["availableQuota"] = avail
        if hit:
            return restrict(hit)
    if "attemptTrackers" in r.checks:
        hit = check_active(org, r, now) or check_trackers(org, r, now)
        if hit:
            return restrict(hit)
    if "messageTrackers" in r.checks:
        res["messageType"] = message_type(org, r, now)
    res["restrictionStartTime"] = fmt(min(starts)) if starts else None
    return res, r
