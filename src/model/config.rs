//! The four configuration objects (SPEC §7–§8, §11) with the API's defaults,
//! and the exempt-address sets compiled for matching.

use ahash::AHashSet;

use super::dto::*;
use super::enums::Channel;
use super::rules::FieldError;
use crate::normalize;

/// Exempt addresses of one tracker family, normalised both ways (phone digits
/// and lower-case) so a record's address key matches whatever its channel.
#[derive(Debug, Clone, Default)]
pub struct ExemptSet {
    phones: AHashSet<String>,
    emails: AHashSet<String>,
    blank: bool,
}

impl ExemptSet {
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a String>) -> Self {
        let mut s = ExemptSet::default();
        for e in entries {
            let t = e.trim();
            if t == "BLANK" {
                s.blank = true;
                continue;
            }
            if let Some(d) = normalize::digits(t) {
                s.phones.insert(d);
            }
            if let Some(l) = normalize::lower(t) {
                s.emails.insert(l);
            }
        }
        s
    }

    /// Whether an address key (empty = absent) of `channel` is in the set.
    pub fn contains(&self, channel: Channel, address_key: &str) -> bool {
        if address_key.is_empty() {
            return self.blank;
        }
        match channel {
            Channel::Voice | Channel::Sms => self.phones.contains(address_key),
            Channel::Email => self.emails.contains(address_key),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.phones.is_empty() && self.emails.is_empty() && !self.blank
    }
}

/// Exemptions for one tracker family (attempt or message trackers).
#[derive(Debug, Clone, Default)]
pub struct Exemptions {
    /// `excludedContactAddresses`: no tracker applies.
    pub all: ExemptSet,
    /// `excludeFromContactAddressRule`: address-keyed trackers do not apply.
    pub address_rules: ExemptSet,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub attempt: Exemptions,
    pub message: Exemptions,
    pub enable_active_record_feature: bool,
    pub life_time_of_active_record: i64,
    pub minutes_to_wait_after_active_restriction: i64,
    pub exclusion_retain_days: i64,
    pub exclusion_retain_no_end_time: bool,
    pub cct_retain_days: i64,
    /// The configuration as given, for writing back.
    pub dto: ConfigurationDto,
}

impl Default for Config {
    fn default() -> Self {
        Config::try_from(&ConfigurationDto::default()).expect("defaults are valid")
    }
}

impl TryFrom<&ConfigurationDto> for Config {
    type Error = FieldError;
    fn try_from(d: &ConfigurationDto) -> Result<Self, FieldError> {
        let at = d.attempt_trackers.clone().unwrap_or_default();
        let mt = d.message_trackers.clone().unwrap_or_default();
        let life = at.life_time_of_active_record.unwrap_or(120);
        if !(1..=1440).contains(&life) {
            return Err(FieldError::new(
                "attemptTrackers.lifeTimeOfActiveRecord",
                format!("{life} is outside 1..1440"),
            ));
        }
        let wait = at.minutes_to_wait_after_active_restriction.unwrap_or(10);
        if !(0..=1440).contains(&wait) {
            return Err(FieldError::new(
                "attemptTrackers.minutesToWaitAfterActiveRestriction",
                format!("{wait} is outside 0..1440"),
            ));
        }
        let ex = d.exclusions.clone().unwrap_or_default();
        let cct = d.convenient_contact_times.clone().unwrap_or_default();
        // The reference's range for both retention settings.
        for (field, days) in
            [("exclusions.retainDays", ex.retain_days), ("convenientContactTimes.retainDays", cct.retain_days)]
        {
            if let Some(n) = days.filter(|n| !(0..=14).contains(n)) {
                return Err(FieldError::new(field, format!("{n} is outside 0..14")));
            }
        }
        Ok(Config {
            attempt: Exemptions {
                all: ExemptSet::new(at.excluded_contact_addresses.iter().flatten()),
                address_rules: ExemptSet::new(at.exclude_from_contact_address_rule.iter().flatten()),
            },
            message: Exemptions {
                all: ExemptSet::new(mt.excluded_contact_addresses.iter().flatten()),
                address_rules: ExemptSet::new(mt.exclude_from_contact_address_rule.iter().flatten()),
            },
            enable_active_record_feature: at.enable_active_record_feature.unwrap_or(true),
            life_time_of_active_record: life,
            minutes_to_wait_after_active_restriction: wait,
            exclusion_retain_days: ex.retain_days.unwrap_or(14),
            exclusion_retain_no_end_time: ex.retain_no_end_time.unwrap_or(false),
            cct_retain_days: cct.retain_days.unwrap_or(14),
            dto: d.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exempt_entries_compare_by_address_key() {
        let s = ExemptSet::new(&["(555) 010-2030".to_string(), "Boss@Ex.com".to_string(), "BLANK".to_string()]);
        assert!(s.contains(Channel::Voice, "5550102030"));
        assert!(s.contains(Channel::Email, "boss@ex.com"));
        assert!(s.contains(Channel::Sms, ""));
        assert!(!s.contains(Channel::Voice, "5550102031"));
    }

    #[test]
    fn config_defaults_and_ranges() {
        let c = Config::default();
        assert!(c.enable_active_record_feature);
        assert_eq!((c.life_time_of_active_record, c.minutes_to_wait_after_active_restriction), (120, 10));
        let d: ConfigurationDto = serde_json::from_str(r#"{"attemptTrackers":{"lifeTimeOfActiveRecord":0}}"#).unwrap();
        assert!(Config::try_from(&d).is_err());
    }
}
