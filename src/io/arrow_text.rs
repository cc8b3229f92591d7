//! Arrow columns as text: record fields are matched as text whatever their
//! Parquet type, and Parquet columns are written to CSV as text.
//!
//! Conversion is per column per batch (never per value call), and a plain
//! `Utf8` column is passed through without copying.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, StringArray};
use arrow_schema::{DataType, TimeUnit};
use chrono::DateTime;

use crate::time::format_instant;

/// Converts a column to a `StringArray` (nulls stay null). Lists of strings
/// become comma-joined text. `Err` names the unsupported type.
pub fn to_text(arr: &ArrayRef) -> Result<StringArray, String> {
    use DataType::*;
    let n = arr.len();
    let mut out: Vec<Option<String>> = Vec::with_capacity(n);
    macro_rules! each {
        ($a:expr, $f:expr) => {{
            let a = $a;
            for i in 0..n {
                out.push(if a.is_null(i) { None } else { Some($f(a, i)) });
            }
        }};
    }
    macro_rules! prim {
        ($t:ty) => {
            each!(arr.as_primitive::<$t>(), |a: &arrow_array::PrimitiveArray<$t>, i| a.value(i).to_string())
        };
    }
    match arr.data_type() {
        Utf8 => return Ok(arr.as_string::<i32>().clone()),
        LargeUtf8 => each!(arr.as_string::<i64>(), |a: &arrow_array::LargeStringArray, i| a.value(i).to_string()),
        Utf8View => each!(arr.as_string_view(), |a: &arrow_array::StringViewArray, i| a.value(i).to_string()),
        Null => out.resize(n, None),
        Boolean => each!(arr.as_boolean(), |a: &arrow_array::BooleanArray, i| a.value(i).to_string()),
        Int8 => prim!(Int8Type),
        Int16 => prim!(Int16Type),
        Int32 => prim!(Int32Type),
        Int64 => prim!(Int64Type),
        UInt8 => prim!(UInt8Type),
        UInt16 => prim!(UInt16Type),
        UInt32 => prim!(UInt32Type),
        UInt64 => prim!(UInt64Type),
        Float32 => prim!(Float32Type),
        Float64 => prim!(Float64Type),
        Date32 => each!(arr.as_primitive::<Date32Type>(), |a: &arrow_array::Date32Array, i| {
            DateTime::from_timestamp(a.value(i) as i64 * 86_400, 0)
                .map(|d| d.date_naive().to_string())
                .unwrap_or_default()
        }),
        Timestamp(_, _) => {
            let (ints, unit) = timestamp_as_i64(arr).expect("timestamp column");
            each!(&ints, |a: &arrow_array::Int64Array, i| {
                timestamp_instant(a.value(i), unit).map(format_instant).unwrap_or_default()
            })
        }
        Dictionary(_, _) => {
            let dict = arr.as_any_dictionary();
            let values = to_text(dict.values())?;
            let keys = arrow_select::take::take(&values, dict.keys(), None).map_err(|e| e.to_string())?;
            return Ok(keys.as_string::<i32>().clone());
        }
        List(_) | LargeList(_) => {
            for i in 0..n {
                out.push(if arr.is_null(i) { None } else { Some(list_items(arr, i)?.join(",")) });
            }
        }
        other => return Err(format!("unsupported column type {other}")),
    }
    Ok(StringArray::from(out))
}

/// Text items of a list cell.
pub fn list_items(arr: &ArrayRef, i: usize) -> Result<Vec<String>, String> {
    let inner: ArrayRef = match arr.data_type() {
        DataType::List(_) => arr.as_list::<i32>().value(i),
        DataType::LargeList(_) => arr.as_list::<i64>().value(i),
        other => return Err(format!("{other} is not a list")),
    };
    let t = to_text(&inner)?;
    Ok((0..t.len()).filter(|&j| !t.is_null(j)).map(|j| t.value(j).to_string()).collect())
}

/// A timestamp column's raw values (same layout as Int64) and unit; `None` if not a timestamp.
pub fn timestamp_as_i64(arr: &ArrayRef) -> Option<(arrow_array::Int64Array, TimeUnit)> {
    match arr.data_type() {
        DataType::Timestamp(unit, _) => {
            let data = arr.to_data().into_builder().data_type(DataType::Int64).build().ok()?;
            Some((arrow_array::Int64Array::from(data), *unit))
        }
        _ => None,
    }
}

/// A Parquet/Arrow timestamp value as an instant (naive ones are UTC, SPEC §1).
pub fn timestamp_instant(v: i64, unit: TimeUnit) -> Option<DateTime<chrono::Utc>> {
    match unit {
        TimeUnit::Second => DateTime::from_timestamp(v, 0),
        TimeUnit::Millisecond => DateTime::from_timestamp_millis(v),
        TimeUnit::Microsecond => DateTime::from_timestamp_micros(v),
        TimeUnit::Nanosecond => Some(DateTime::from_timestamp_nanos(v)),
    }
}

/// A list-of-strings column flattened for fast per-row access.
pub struct ListText {
    offsets: Vec<usize>,
    values: StringArray,
}

impl ListText {
    pub fn new(arr: &ArrayRef) -> Result<ListText, String> {
        let (offsets, values): (Vec<usize>, ArrayRef) = match arr.data_type() {
            DataType::List(_) => {
                let l = arr.as_list::<i32>();
                (l.value_offsets().iter().map(|&o| o as usize).collect(), l.values().clone())
            }
            DataType::LargeList(_) => {
                let l = arr.as_list::<i64>();
                (l.value_offsets().iter().map(|&o| o as usize).collect(), l.values().clone())
            }
            other => return Err(format!("{other} is not a list")),
        };
        Ok(ListText { offsets, values: to_text(&values)? })
    }

    pub fn items(&self, row: usize) -> impl Iterator<Item = &str> {
        let (a, b) = (self.offsets[row], self.offsets[row + 1]);
        (a..b).filter(|&j| !self.values.is_null(j)).map(|j| self.values.value(j))
    }
}

/// A record-field column: text, or a list (geocodes).
pub enum FieldColumn {
    Text(StringArray),
    List(ListText),
    /// Integer columns (numberType): read as numbers, never formatted.
    Int(arrow_array::Int64Array),
}

impl FieldColumn {
    pub fn new(arr: &ArrayRef) -> Result<FieldColumn, String> {
        match arr.data_type() {
            DataType::List(_) | DataType::LargeList(_) => Ok(FieldColumn::List(ListText::new(arr)?)),
            _ => Ok(FieldColumn::Text(to_text(arr)?)),
        }
    }

    /// A numberType column: integer columns stay integers (read with
    /// [`FieldColumn::int`]) instead of being formatted to text and parsed
    /// back, one string per row; anything else as [`FieldColumn::new`].
    pub fn number(arr: &ArrayRef) -> Result<FieldColumn, String> {
        match arr.data_type() {
            DataType::Int64 => Ok(FieldColumn::Int(arr.as_primitive::<Int64Type>().clone())),
            DataType::Int32 => {
                Ok(FieldColumn::Int(arr.as_primitive::<Int32Type>().iter().map(|v| v.map(i64::from)).collect()))
            }
            _ => FieldColumn::new(arr),
        }
    }

    /// The text of a cell (`None` for null, list or integer columns).
    pub fn text(&self, row: usize) -> Option<&str> {
        match self {
            FieldColumn::Text(a) => (!a.is_null(row)).then(|| a.value(row)),
            FieldColumn::List(_) | FieldColumn::Int(_) => None,
        }
    }

    /// The integer of a cell of an integer column.
    pub fn int(&self, row: usize) -> Option<i64> {
        match self {
            FieldColumn::Int(a) => (!a.is_null(row)).then(|| a.value(row)),
            _ => None,
        }
    }
}

pub fn string_array(values: Vec<Option<&str>>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_columns_stay_integers_and_other_types_read_as_text() {
        let ints: ArrayRef = Arc::new(arrow_array::Int64Array::from(vec![Some(3), None, Some(-7)]));
        let c = FieldColumn::number(&ints).unwrap();
        assert_eq!((c.int(0), c.int(1), c.int(2)), (Some(3), None, Some(-7)));
        assert_eq!(c.text(0), None, "read as a number, never formatted");
        let small: ArrayRef = Arc::new(arrow_array::Int32Array::from(vec![Some(2), None]));
        let c = FieldColumn::number(&small).unwrap();
        assert_eq!((c.int(0), c.int(1)), (Some(2), None));
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("4"), None]));
        let c = FieldColumn::number(&text).unwrap();
        assert_eq!((c.text(0), c.text(1), c.int(0)), (Some("4"), None, None));
        // Any other column keeps integers as text (a numeric accountNumber is a key).
        let c = FieldColumn::new(&ints).unwrap();
        assert_eq!((c.text(0), c.text(1), c.int(0)), (Some("3"), None, None));
    }
}
