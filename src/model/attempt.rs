//! A history contact attempt as it arrives: borrowed text fields, validated
//! and normalised by the history index builder (SPEC §7, §11).

use chrono::{DateTime, Utc};

use super::dto::ContactAttemptDto;
use super::enums::{AttemptStatus, Channel};
use super::rules::FieldError;
use crate::normalize;

/// One attempt's fields as text (or a ready instant from a typed column).
#[derive(Debug, Clone, Copy, Default)]
pub struct Attempt<'a> {
    pub contact_channel: Option<&'a str>,
    pub contact_address: Option<&'a str>,
    pub customer: Option<&'a str>,
    pub account_number: Option<&'a str>,
    pub time_of_contact: Option<&'a str>,
    /// Set when the time came from a typed (Parquet timestamp) column.
    pub time: Option<DateTime<Utc>>,
    pub disposition: Option<&'a str>,
    pub number_type: Option<&'a str>,
    pub purpose: Option<&'a str>,
    /// Comma-separated geocodes; list-typed values are passed separately to the builder.
    pub geocodes: Option<&'a str>,
    pub status: Option<&'a str>,
    /// numberType from a typed integer column (takes precedence).
    pub number_type_int: Option<i64>,
}

impl<'a> Attempt<'a> {
    pub fn channel(&self) -> Result<Channel, FieldError> {
        let c =
            normalize::present(self.contact_channel).ok_or_else(|| FieldError::new("contactChannel", "is required"))?;
        Channel::parse(c).ok_or_else(|| {
            FieldError::new("contactChannel", format!("unknown channel '{c}' (expected {})", Channel::expected()))
        })
    }

    pub fn instant(&self) -> Result<DateTime<Utc>, FieldError> {
        if let Some(t) = self.time {
            return Ok(t);
        }
        let s =
            normalize::present(self.time_of_contact).ok_or_else(|| FieldError::new("timeOfContact", "is required"))?;
        crate::time::parse_instant(s)
            .ok_or_else(|| FieldError::new("timeOfContact", format!("'{s}' is not an RFC 3339 instant")))
    }

    /// Enabled unless the status says Disabled; an absent status is Enabled.
    pub fn enabled(&self) -> Result<bool, FieldError> {
        match normalize::present(self.status) {
            None => Ok(true),
            Some(s) => match AttemptStatus::parse(s) {
                Some(st) => Ok(st == AttemptStatus::Enabled),
                None => Err(FieldError::new("status", format!("unknown status '{s}' (expected Enabled, Disabled)"))),
            },
        }
    }

    pub fn number_type(&self) -> Result<Option<i64>, FieldError> {
        match normalize::present(self.number_type) {
            None => Ok(self.number_type_int),
            Some(n) => super::record::parse_number_type(n)
                .map(Some)
                .ok_or_else(|| FieldError::new("numberType", format!("'{n}' is not an integer"))),
        }
    }

    /// A borrowed view of a JSON contact attempt (numberType must be pre-rendered).
    pub fn from_dto(d: &'a ContactAttemptDto, number_type: Option<&'a str>, geocodes: Option<&'a str>) -> Self {
        Attempt {
            contact_channel: d.contact_channel.as_deref(),
            contact_address: d.contact_address.as_deref(),
            customer: d.customer.as_deref(),
            account_number: d.account_number.as_deref(),
            time_of_contact: d.time_of_contact.as_deref(),
            time: None,
            disposition: d.disposition.as_deref(),
            number_type,
            purpose: d.purpose.as_deref(),
            geocodes,
            status: d.status.as_deref(),
            number_type_int: None,
        }
    }
}
