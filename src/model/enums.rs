//! The API's enumerations: parsed case-insensitively, written in the API's spelling (SPEC §2).

use serde::{Serialize, Serializer};

macro_rules! api_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($var),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// Case-insensitive parse of the API spelling (and documented aliases).
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                $(
                    if s.eq_ignore_ascii_case($text) $(|| s.eq_ignore_ascii_case($alias))* {
                        return Some($name::$var);
                    }
                )+
                None
            }

            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $text),+ }
            }

            /// The API's spelling of `s` (case-insensitive, aliases included), if it is a value.
            pub fn spelling(s: &str) -> Option<&'static str> {
                Self::parse(s).map(Self::as_str)
            }

            /// The accepted spellings, for error messages.
            pub fn expected() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

api_enum!(
    /// A contact channel. `Email` is valid everywhere a channel is (SPEC §1).
    Channel { Voice = "Voice", Sms = "SMS", Email = "Email" }
);

impl Channel {
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A set of channels as a bitmask (Voice=1, SMS=2, Email=4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelSet(pub u8);

impl ChannelSet {
    pub const ALL: ChannelSet = ChannelSet(0b111);
    pub fn contains(self, c: Channel) -> bool {
        self.0 & c.bit() != 0
    }
    pub fn insert(&mut self, c: Channel) {
        self.0 |= c.bit();
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn complement(self) -> ChannelSet {
        ChannelSet(!self.0 & 0b111)
    }
    pub fn channels(self) -> impl Iterator<Item = Channel> {
        Channel::ALL.iter().copied().filter(move |c| self.contains(*c))
    }
}

api_enum!(
    /// SPEC §4's five types and no others: `Phone` is a v3 *tracker* type
    /// (SPEC §7), not an exclusion type, so it is refused here like any unknown value.
    ExclusionType { Account = "Account", Voice = "Voice", Email = "Email", Sms = "SMS", Ssn = "SSN" }
);

api_enum!(ContactKeyType { Customer = "Customer", Account = "Account" });

api_enum!(ContactValueType { Voice = "Voice", Sms = "SMS", Email = "Email", All = "All" });

impl ContactValueType {
    pub fn channel(self) -> Option<Channel> {
        match self {
            ContactValueType::Voice => Some(Channel::Voice),
            ContactValueType::Sms => Some(Channel::Sms),
            ContactValueType::Email => Some(Channel::Email),
            ContactValueType::All => None,
        }
    }
}

api_enum!(
    /// v4 tracker types; the v3 names `Phone` and `CustomerPhone` map here (SPEC §7).
    TrackerType {
        Customer = "Customer",
        ContactAddress = "ContactAddress" | "Phone",
        CustomerContactAddress = "CustomerContactAddress" | "CustomerPhone",
        Account = "Account",
        AccountContactAddress = "AccountContactAddress",
    }
);

impl TrackerType {
    pub fn uses_customer(self) -> bool {
        matches!(self, TrackerType::Customer | TrackerType::CustomerContactAddress)
    }
    pub fn uses_account(self) -> bool {
        matches!(self, TrackerType::Account | TrackerType::AccountContactAddress)
    }
    pub fn uses_address(self) -> bool {
        matches!(
            self,
            TrackerType::ContactAddress | TrackerType::CustomerContactAddress | TrackerType::AccountContactAddress
        )
    }
}

api_enum!(ThresholdType {
    Minute = "Minute",
    Hour = "Hour",
    Day = "Day",
    Week = "Week",
    CurrentDay = "CurrentDay",
    CurrentWeek = "CurrentWeek",
    CurrentMonth = "CurrentMonth",
});

impl ThresholdType {
    pub fn is_current(self) -> bool {
        matches!(self, ThresholdType::CurrentDay | ThresholdType::CurrentWeek | ThresholdType::CurrentMonth)
    }
}

api_enum!(ThresholdActionType { NoPlayMessage = "NoPlayMessage", PlayStandardMessage = "PlayStandardMessage" });

api_enum!(AttemptStatus { Enabled = "Enabled", Disabled = "Disabled" });

api_enum!(MessageType { CanPlay = "CanPlay", CanPlayStandard = "CanPlayStandard", CannotPlay = "CannotPlay" });

api_enum!(DayOfWeek {
    Monday = "Monday" | "Mon",
    Tuesday = "Tuesday" | "Tue",
    Wednesday = "Wednesday" | "Wed",
    Thursday = "Thursday" | "Thu",
    Friday = "Friday" | "Fri",
    Saturday = "Saturday" | "Sat",
    Sunday = "Sunday" | "Sun",
});

api_enum!(
    /// The five checks, in evaluation order (SPEC §3).
    Check {
        Exclusions = "exclusions",
        ConvenientContactTimes = "convenientContactTimes",
        QuotaControls = "quotaControls",
        AttemptTrackers = "attemptTrackers",
        MessageTrackers = "messageTrackers",
    }
);

api_enum!(OperationType {
    SaveContactWithKeyCheck = "SaveContactWithKeyCheck",
    CancelContact = "CancelContact",
    SaveContactNoKeyCheck = "SaveContactNoKeyCheck",
});

/// A set of checks (requiredChecks); empty or `all` means all five.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks(u8);

impl Checks {
    pub const ALL: Checks = Checks(0b11111);
    pub fn none() -> Checks {
        Checks(0)
    }
    pub fn contains(self, c: Check) -> bool {
        self.0 & (1 << c as u8) != 0
    }
    pub fn insert(&mut self, c: Check) {
        self.0 |= 1 << c as u8;
    }
    /// Parses a requiredChecks list; `Err` names the unknown entry.
    pub fn parse_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Checks, String> {
        let mut set = Checks::none();
        for raw in items {
            let s = raw.trim();
            if s.is_empty() {
                continue;
            }
            if s.eq_ignore_ascii_case("all") {
                return Ok(Checks::ALL);
            }
            match Check::parse(s) {
                Some(c) => set.insert(c),
                None => return Err(format!("unknown check '{s}' (expected all, {})", Check::expected())),
            }
        }
        Ok(if set.0 == 0 { Checks::ALL } else { set })
    }
}

impl Default for Checks {
    fn default() -> Self {
        Checks::ALL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_case_insensitively_and_write_api_spelling() {
        assert_eq!(Channel::parse("sms"), Some(Channel::Sms));
        assert_eq!(Channel::parse(" EMAIL "), Some(Channel::Email));
        assert_eq!(Channel::Sms.as_str(), "SMS");
        assert_eq!(TrackerType::parse("CustomerPhone"), Some(TrackerType::CustomerContactAddress));
        assert_eq!(TrackerType::parse("phone"), Some(TrackerType::ContactAddress));
        assert_eq!(ExclusionType::parse("ssn"), Some(ExclusionType::Ssn));
        assert_eq!(ExclusionType::parse("Phone"), None);
        assert_eq!(Channel::parse("Fax"), None);
    }

    #[test]
    fn checks_lists() {
        assert_eq!(Checks::parse_list([]), Ok(Checks::ALL));
        assert_eq!(Checks::parse_list(["exclusions", "ALL"]), Ok(Checks::ALL));
        let c = Checks::parse_list(["Exclusions", "quotaControls"]).unwrap();
        assert!(c.contains(Check::Exclusions) && c.contains(Check::QuotaControls));
        assert!(!c.contains(Check::AttemptTrackers));
        assert!(Checks::parse_list(["dnc"]).is_err());
    }

    #[test]
    fn channel_sets() {
        let mut s = ChannelSet::default();
        s.insert(Channel::Voice);
        assert_eq!(s.complement().channels().collect::<Vec<_>>(), vec![Channel::Sms, Channel::Email]);
    }
}
