//! Records to check: a borrowed raw view of the input, normalised once into
//! a reusable [`Record`] (SPEC §1, §2, §10).
//!
//! The batch hot loop keeps one `Record` per worker and refills it for every
//! row, so normalising allocates only while buffers grow.

use chrono_tz::Tz;
use serde_json::Value;

use super::dto::ComplianceStatusesInsertRequestV4;
use super::enums::{Channel, Checks};
use super::rules::FieldError;
use crate::normalize::{self, address_into, digits_into, lower_into, trimmed_into};

/// The record fields of one input row, as text, borrowed from the input.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawRecord<'a> {
    pub contact_channel: Option<&'a str>,
    pub contact_address: Option<&'a str>,
    pub customer: Option<&'a str>,
    pub account_number: Option<&'a str>,
    pub ssn: Option<&'a str>,
    pub contact_list_name: Option<&'a str>,
    pub number_type: Option<&'a str>,
    pub purpose: Option<&'a str>,
    pub time_zone: Option<&'a str>,
    pub product: Option<&'a str>,
    /// Comma-separated geocodes (CSV); list-typed values go through [`Record::add_geocode`].
    pub geocodes: Option<&'a str>,
    /// numberType from a typed integer column (takes precedence over `number_type`).
    pub number_type_int: Option<i64>,
}

/// A normalised record. Empty strings mean absent.
#[derive(Debug, Clone)]
pub struct Record {
    pub channel: Channel,
    /// Address key: contactAddress normalised by the record's channel (never empty once valid).
    pub address: String,
    pub customer: String,
    pub account: String,
    pub ssn: String,
    /// Lower-cased contactListName.
    pub list: String,
    pub purpose: String,
    pub product: String,
    pub number_type: Option<i64>,
    geo: Vec<String>,
    geo_len: usize,
    pub zone: Tz,
    pub checks: Checks,
    /// The REST request key (SPEC §8), trimmed.
    pub key: String,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            channel: Channel::Voice,
            address: String::new(),
            customer: String::new(),
            account: String::new(),
            ssn: String::new(),
            list: String::new(),
            purpose: String::new(),
            product: String::new(),
            number_type: None,
            geo: Vec::new(),
            geo_len: 0,
            zone: Tz::UTC,
            checks: Checks::ALL,
            key: String::new(),
        }
    }
}

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

impl Record {
    /// Normalises `raw` into `self`, reusing buffers. `Err` names the field that
    /// makes the record invalid (SPEC §10). Geocodes from `raw.geocodes` are added;
    /// list-typed geocodes can be added afterwards with [`Record::add_geocode`].
    pub fn fill(&mut self, raw: &RawRecord<'_>, default_zone: Tz) -> Result<(), FieldError> {
        let ch =
            normalize::present(raw.contact_channel).ok_or_else(|| FieldError::new("contactChannel", "is required"))?;
        self.channel = Channel::parse(ch).ok_or_else(|| {
            FieldError::new("contactChannel", format!("unknown channel '{ch}' (expected {})", Channel::expected()))
        })?;
        address_into(self.channel, raw.contact_address.unwrap_or(""), &mut self.address);
        if self.address.is_empty() {
            return Err(FieldError::new(
                "contactAddress",
                match normalize::present(raw.contact_address) {
                    None => "is required".to_string(),
                    Some(a) => format!("'{a}' is not a usable {} address", self.channel),
                },
            ));
        }
        self.zone = match normalize::present(raw.time_zone) {
            None => default_zone,
            Some(z) => crate::time::parse_zone_memo(z)
                .ok_or_else(|| FieldError::new("timeZone", format!("unknown time zone '{z}'")))?,
        };
        self.number_type = match normalize::present(raw.number_type) {
            None => raw.number_type_int,
            Some(n) => Some(
                parse_number_type(n)
                    .ok_or_else(|| FieldError::new("numberType", format!("'{n}' is not an integer")))?,
            ),
        };
        trimmed_into(raw.customer.unwrap_or(""), &mut self.customer);
        trimmed_into(raw.account_number.unwrap_or(""), &mut self.account);
        digits_into(raw.ssn.unwrap_or(""), &mut self.ssn);
        lower_into(raw.contact_list_name.unwrap_or(""), &mut self.list);
        lower_into(raw.purpose.unwrap_or(""), &mut self.purpose);
        lower_into(raw.product.unwrap_or(""), &mut self.product);
        self.geo_len = 0;
        if let Some(g) = raw.geocodes {
            for item in normalize::split_list(g) {
                self.add_geocode(item);
            }
        }
        self.checks = Checks::ALL;
        self.key.clear();
        Ok(())
    }

    /// Adds one geocode (lower-cased; empty ignored).
    pub fn add_geocode(&mut self, g: &str) {
        if g.trim().is_empty() {
            return;
        }
        if self.geo_len == self.geo.len() {
            self.geo.push(String::new());
        }
        lower_into(g, &mut self.geo[self.geo_len]);
        self.geo_len += 1;
    }

    pub fn geocodes(&self) -> &[String] {
        &self.geo[..self.geo_len]
    }
    pub fn customer(&self) -> Option<&str> {
        opt(&self.customer)
    }
    pub fn account(&self) -> Option<&str> {
        opt(&self.account)
    }
    pub fn ssn(&self) -> Option<&str> {
        opt(&self.ssn)
    }
    pub fn list(&self) -> Option<&str> {
        opt(&self.list)
    }
    pub fn purpose(&self) -> Option<&str> {
        opt(&self.purpose)
    }
    pub fn product(&self) -> Option<&str> {
        opt(&self.product)
    }

    /// Builds a record from the v4 request body (`scrub check`, REST).
    pub fn from_request(req: &ComplianceStatusesInsertRequestV4, default_zone: Tz) -> Result<Record, FieldError> {
        let number_type = match &req.number_type {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => return Err(FieldError::new("numberType", format!("{other} is not an integer"))),
        };
        let raw = RawRecord {
            contact_channel: req.contact_channel.as_deref(),
            contact_address: req.contact_address.as_deref(),
            customer: req.customer.as_deref(),
            account_number: req.account_number.as_deref(),
            ssn: req.ssn.as_deref(),
            contact_list_name: req.contact_list_name.as_deref(),
            number_type: number_type.as_deref(),
            purpose: req.purpose.as_deref(),
            time_zone: req.time_zone.as_deref(),
            product: req.product.as_deref(),
            geocodes: None,
            number_type_int: None,
        };
        let mut rec = Record::default();
        rec.fill(&raw, default_zone)?;
        match &req.geocodes {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => normalize::split_list(s).for_each(|g| rec.add_geocode(g)),
            Some(Value::Array(items)) => {
                for it in items {
                    match it {
                        Value::String(s) => rec.add_geocode(s),
                        Value::Null => {}
                        other => return Err(FieldError::new("geocodes", format!("{other} is not a string"))),
                    }
                }
            }
            Some(other) => return Err(FieldError::new("geocodes", format!("{other} is not a list of strings"))),
        }
        rec.checks = Checks::parse_list(req.required_checks.iter().flatten().map(String::as_str))
            .map_err(|m| FieldError::new("requiredChecks", m))?;
        rec.key = req.key.as_deref().map(str::trim).unwrap_or("").to_string();
        Ok(rec)
    }
}

/// numberType is an integer; `3.0` (as float columns print) is accepted as 3.
pub fn parse_number_type(s: &str) -> Option<i64> {
    let s = s.trim();
    s.parse::<i64>().ok().or_else(|| {
        let f: f64 = s.parse().ok()?;
        (f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15).then_some(f as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(ch: &'a str, addr: &'a str) -> RawRecord<'a> {
        RawRecord { contact_channel: Some(ch), contact_address: Some(addr), ..Default::default() }
    }

    #[test]
    fn invalid_records_name_the_field() {
        let mut r = Record::default();
        let e = r.fill(&RawRecord::default(), Tz::UTC).unwrap_err();
        assert_eq!(e.field, "contactChannel");
        assert_eq!(r.fill(&raw("Fax", "1"), Tz::UTC).unwrap_err().field, "contactChannel");
        assert_eq!(r.fill(&raw("Voice", "n/a"), Tz::UTC).unwrap_err().field, "contactAddress");
        let mut x = raw("SMS", "5550102030");
        x.time_zone = Some("Mars/Base");
        assert_eq!(r.fill(&x, Tz::UTC).unwrap_err().field, "timeZone");
        x.time_zone = None;
        x.number_type = Some("mobile");
        assert_eq!(r.fill(&x, Tz::UTC).unwrap_err().field, "numberType");
    }

    #[test]
    fn normalises_and_reuses() {
        let mut r = Record::default();
        let mut x = raw("email", " Jo@Ex.com ");
        x.geocodes = Some("CA, NY");
        x.customer = Some(" C-1 ");
        x.number_type = Some("2");
        r.fill(&x, chrono_tz::America::Chicago).unwrap();
        assert_eq!((r.channel, r.address.as_str(), r.customer()), (Channel::Email, "jo@ex.com", Some("C-1")));
        assert_eq!(r.geocodes(), &["ca".to_string(), "ny".to_string()]);
        assert_eq!((r.number_type, r.zone), (Some(2), chrono_tz::America::Chicago));
        r.fill(&raw("Voice", "+1 555 010 2030"), Tz::UTC).unwrap();
        assert_eq!((r.address.as_str(), r.geocodes().len(), r.customer()), ("15550102030", 0, None));
    }
}
