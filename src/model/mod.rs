//! The API's model: serde shapes ([`dto`]), enumerations ([`enums`]), and the
//! validated domain types the engine works on ([`rules`], [`record`],
//! [`config`], [`attempt`]). Conversion from DTO to domain type is the only
//! place rules are checked against SPEC §10.

pub mod attempt;
pub mod config;
pub mod dto;
pub mod enums;
pub mod record;
pub mod rules;

pub use attempt::Attempt;
pub use config::Config;
pub use enums::*;
pub use record::{RawRecord, Record};
pub use rules::{ConvenientContactTime, Exclusion, FieldError, QuotaControl, Tracker, TrackerKind, Window};
