//! The API's JSON shapes (serde, camelCase), v3 and v4 in one struct per kind.
//!
//! DTOs stay at the edges: every field is optional and loosely typed so that
//! validation ([`super::rules`]) can say *which* field is wrong instead of
//! failing inside serde. Unknown fields are ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExclusionDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub exclusion_type: Option<String>,
    pub exclusion_value: Option<String>,
    pub contact_list_name: Option<String>,
    pub reason: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WindowDto {
    pub day_of_week: Option<Vec<String>>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// A convenient contact time, v4 (`contactKeyType`…) or v3 (`customer`, `phone`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CctDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_key_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_value_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub reason: Option<String>,
    pub end_time: Option<String>,
    pub convenient_times: Option<Vec<WindowDto>>,
    #[serde(flatten)]
    pub meta: Meta,
}

/// An attempt tracker (v3 when none of the channel fields is present, SPEC §7).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AttemptTrackerDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub attempt_tracker_name: Option<String>,
    pub attempt_tracker_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_channels: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub across_contact_channels: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_contact_channels: Option<bool>,
    pub type_of_tracker: Option<String>,
    pub number_of_attempts: Option<Value>,
    pub threshold_type: Option<String>,
    pub threshold: Option<Value>,
    pub dispositions: Option<Vec<String>>,
    pub number_types: Option<Vec<Value>>,
    pub geocodes: Option<Vec<String>>,
    pub purposes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MessageTrackerDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message_tracker_name: Option<String>,
    pub message_tracker_description: Option<String>,
    pub type_of_tracker: Option<String>,
    pub number_of_attempts: Option<Value>,
    pub threshold: Option<Value>,
    pub threshold_type: Option<String>,
    pub threshold_action_type: Option<String>,
    pub dispositions: Option<Vec<String>>,
    pub number_types: Option<Vec<Value>>,
    pub geocodes: Option<Vec<String>>,
    pub purposes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QuotaControlDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub product: Option<String>,
    pub product_description: Option<String>,
    pub total_quota: Option<Value>,
    pub product_sold: Option<Value>,
    pub unit_value: Option<Value>,
    #[serde(flatten)]
    pub meta: Meta,
}

/// A contact attempt (history row / POST contactAttempts body).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContactAttemptDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub contact_channel: Option<String>,
    pub contact_address: Option<String>,
    pub customer: Option<String>,
    pub account_number: Option<String>,
    pub time_of_contact: Option<String>,
    pub time_zone: Option<String>,
    pub disposition: Option<String>,
    pub number_type: Option<Value>,
    pub purpose: Option<String>,
    pub geocodes: Option<Value>,
    pub status: Option<String>,
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_sold: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_type: Option<String>,
    #[serde(flatten)]
    pub meta: Meta,
}

/// `ComplianceStatusesInsertRequestV4`: one record to check.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceStatusesInsertRequestV4 {
    pub required_checks: Option<Vec<String>>,
    pub contact_channel: Option<String>,
    pub contact_address: Option<String>,
    pub customer: Option<String>,
    pub account_number: Option<String>,
    pub ssn: Option<String>,
    pub contact_list_name: Option<String>,
    pub number_type: Option<Value>,
    pub geocodes: Option<Value>,
    pub purpose: Option<String>,
    pub time_zone: Option<String>,
    pub product: Option<String>,
    pub key: Option<String>,
}

/// `TersePostComplianceStatusesResponseV4`: every field written, nulls included.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TersePostComplianceStatusesResponseV4 {
    pub kind: String,
    pub restricted: bool,
    pub restricted_rule_id: Option<String>,
    pub restricted_rule_name: Option<String>,
    pub restriction_type: Option<String>,
    pub restriction_start_time: Option<String>,
    pub restriction_end_time: Option<String>,
    pub message_type: Option<String>,
    pub available_quota: Option<i64>,
    pub key: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AttemptTrackerConfigurationDto {
    pub exclude_from_contact_address_rule: Option<Vec<String>>,
    pub excluded_contact_addresses: Option<Vec<String>>,
    pub enable_active_record_feature: Option<bool>,
    pub life_time_of_active_record: Option<i64>,
    pub minutes_to_wait_after_active_restriction: Option<i64>,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MessageTrackerConfigurationDto {
    pub exclude_from_contact_address_rule: Option<Vec<String>>,
    pub excluded_contact_addresses: Option<Vec<String>>,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExclusionConfigurationDto {
    pub retain_days: Option<i64>,
    pub retain_no_end_time: Option<bool>,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CctConfigurationDto {
    pub retain_days: Option<i64>,
    #[serde(flatten)]
    pub meta: Meta,
}

/// The configuration file of `scrub run --config` (SPEC §11).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationDto {
    pub attempt_trackers: Option<AttemptTrackerConfigurationDto>,
    pub message_trackers: Option<MessageTrackerConfigurationDto>,
    pub exclusions: Option<ExclusionConfigurationDto>,
    pub convenient_contact_times: Option<CctConfigurationDto>,
}
