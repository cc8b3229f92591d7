//! The result of one evaluation (SPEC §3) and the restriction type names.

use chrono::{DateTime, Utc};

use crate::model::dto::TersePostComplianceStatusesResponseV4;
use crate::model::{Channel, ContactKeyType, ExclusionType, MessageType, TrackerType};
use crate::time::format_instant;

/// How specific the CCT rule that restricted was (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CctTier {
    All,
    ChannelWide,
    Specific,
}

/// Active-record blocks (SPEC §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    ContactAddress,
    Customer,
    Account,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestrictionType {
    Exclusion(ExclusionType),
    ConvenientContactTime(ContactKeyType, CctTier, Channel),
    QuotaExhausted,
    AttemptTracker(TrackerType, Channel),
    Block(BlockKind),
}

impl RestrictionType {
    /// The API's restrictionType name, e.g. `AttemptTrackerAccountContactAddressVoice`.
    pub fn as_str(self) -> &'static str {
        use Channel::*;
        use RestrictionType::*;
        match self {
            Exclusion(t) => match t {
                ExclusionType::Account => "ExclusionAccount",
                ExclusionType::Voice => "ExclusionVoice",
                ExclusionType::Email => "ExclusionEmail",
                ExclusionType::Sms => "ExclusionSMS",
                ExclusionType::Ssn => "ExclusionSSN",
            },
            ConvenientContactTime(k, tier, ch) => {
                let c = k == ContactKeyType::Customer;
                match (tier, ch) {
                    (CctTier::All, _) => {
                        if c {
                            "ConvenientContactTimeCustomer"
                        } else {
                            "ConvenientContactTimeAccount"
                        }
                    }
                    (CctTier::Specific, Voice) => {
                        if c {
                            "ConvenientContactTimeCustomerVoice"
                        } else {
                            "ConvenientContactTimeAccountVoice"
                        }
                    }
                    (CctTier::Specific, Sms) => {
                        if c {
                            "ConvenientContactTimeCustomerSMS"
                        } else {
                            "ConvenientContactTimeAccountSMS"
                        }
                    }
                    (CctTier::Specific, Email) => {
                        if c {
                            "ConvenientContactTimeCustomerEmail"
                        } else {
                            "ConvenientContactTimeAccountEmail"
                        }
                    }
                    (CctTier::ChannelWide, Voice) => {
                        if c {
                            "ConvenientContactTimeCustomerNoVoice"
                        } else {
                            "ConvenientContactTimeAccountNoVoice"
                        }
                    }
                    (CctTier::ChannelWide, Sms) => {
                        if c {
                            "ConvenientContactTimeCustomerNoSMS"
                        } else {
                            "ConvenientContactTimeAccountNoSMS"
                        }
                    }
                    (CctTier::ChannelWide, Email) => {
                        if c {
                            "ConvenientContactTimeCustomerNoEmail"
                        } else {
                            "ConvenientContactTimeAccountNoEmail"
                        }
                    }
                }
            }
            QuotaExhausted => "QuotaExhausted",
            AttemptTracker(t, ch) => {
                const NAMES: [[&str; 3]; 5] = [
                    ["AttemptTrackerCustomerVoice", "AttemptTrackerCustomerSMS", "AttemptTrackerCustomerEmail"],
                    [
                        "AttemptTrackerContactAddressVoice",
                        "AttemptTrackerContactAddressSMS",
                        "AttemptTrackerContactAddressEmail",
                    ],
                    [
                        "AttemptTrackerCustomerContactAddressVoice",
                        "AttemptTrackerCustomerContactAddressSMS",
                        "AttemptTrackerCustomerContactAddressEmail",
                    ],
                    ["AttemptTrackerAccountVoice", "AttemptTrackerAccountSMS", "AttemptTrackerAccountEmail"],
                    [
                        "AttemptTrackerAccountContactAddressVoice",
                        "AttemptTrackerAccountContactAddressSMS",
                        "AttemptTrackerAccountContactAddressEmail",
                    ],
                ];
                NAMES[t as usize][ch as usize]
            }
            Block(BlockKind::ContactAddress) => "AttemptTrackerBlockContactAddress",
            Block(BlockKind::Customer) => "AttemptTrackerBlockCustomer",
            Block(BlockKind::Account) => "AttemptTrackerBlockAccount",
        }
    }
}

impl std::fmt::Display for RestrictionType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One evaluation's answer. Borrowed ids and names point into the engine, so
/// building a decision never allocates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision<'e> {
    pub restriction: Option<RestrictionType>,
    pub rule_id: Option<&'e str>,
    pub rule_name: Option<&'e str>,
    pub end: Option<DateTime<Utc>>,
    pub start: Option<DateTime<Utc>>,
    pub message_type: Option<MessageType>,
    pub available_quota: Option<i64>,
}

impl Decision<'_> {
    pub fn restricted(&self) -> bool {
        self.restriction.is_some()
    }

    pub fn to_response(&self, key: Option<String>) -> TersePostComplianceStatusesResponseV4 {
        TersePostComplianceStatusesResponseV4 {
            kind: "via#complianceStatus".into(),
            restricted: self.restricted(),
            restricted_rule_id: self.rule_id.map(str::to_string),
            restricted_rule_name: self.rule_name.map(str::to_string),
            restriction_type: self.restriction.map(|r| r.as_str().to_string()),
            restriction_start_time: self.start.map(format_instant),
            restriction_end_time: self.end.map(format_instant),
            message_type: self.message_type.map(|m| m.as_str().to_string()),
            available_quota: self.available_quota,
            key,
        }
    }
}

/// SPEC §3 choice among restricting rules: latest end (`None` = never = latest),
/// then the smallest id in byte order, a missing id first. True if `b` beats `a`.
pub fn beats(
    a_end: Option<DateTime<Utc>>,
    a_id: Option<&str>,
    b_end: Option<DateTime<Utc>>,
    b_id: Option<&str>,
) -> bool {
    use std::cmp::Ordering::*;
    let by_end = match (a_end, b_end) {
        (None, None) => Equal,
        (None, Some(_)) => Less,
        (Some(_), None) => Greater,
        (Some(x), Some(y)) => y.cmp(&x),
    };
    match by_end {
        Greater => true,
        Less => false,
        Equal => b_id < a_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            RestrictionType::AttemptTracker(TrackerType::AccountContactAddress, Channel::Voice).as_str(),
            "AttemptTrackerAccountContactAddressVoice"
        );
        assert_eq!(
            RestrictionType::ConvenientContactTime(ContactKeyType::Account, CctTier::ChannelWide, Channel::Sms)
                .as_str(),
            "ConvenientContactTimeAccountNoSMS"
        );
        assert_eq!(
            RestrictionType::ConvenientContactTime(ContactKeyType::Customer, CctTier::All, Channel::Email).as_str(),
            "ConvenientContactTimeCustomer"
        );
        assert_eq!(RestrictionType::Exclusion(ExclusionType::Ssn).as_str(), "ExclusionSSN");
    }

    #[test]
    fn tie_breaking() {
        let t = |s: &str| Some(crate::time::parse_instant(s).unwrap());
        assert!(beats(t("2026-01-01T00:00:00Z"), Some("a"), None, Some("z")));
        assert!(!beats(None, Some("z"), t("2026-01-01T00:00:00Z"), Some("a")));
        assert!(beats(None, Some("b"), None, Some("a")));
        assert!(beats(None, Some("a"), None, None));
        assert!(!beats(None, None, None, Some("a")));
    }
}
