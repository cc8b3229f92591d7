//! Collection responses (SPEC §13): filters, startIndex / maxResults paging,
//! totalItems and first/last/next/prev links that keep the filters.

use serde_json::{json, Map, Value};

use super::error::{ApiError, ApiResult};
use super::kinds::Filter;
use crate::time::parse_instant;

pub const DEFAULT_MAX: usize = 100;
pub const LIMIT_MAX: usize = 1000;

/// A parsed filter: the item field and what it must satisfy.
#[derive(Debug, Clone)]
enum Test {
    Text(&'static str, String),
    Address(&'static str, String, Option<String>),
    Int(&'static str, i64),
    Bool(&'static str, bool),
    List(&'static str, Vec<String>),
    From(&'static str, chrono::DateTime<chrono::Utc>),
    To(&'static str, chrono::DateTime<chrono::Utc>),
}

/// The fields `fields` of a stored JSON object, and nothing else: the others
/// are skipped unparsed (no strings copied, no maps built), which is most of
/// the cost of a filter scan over a million items. Not an object: empty.
pub fn parse_fields(text: &str, fields: &[&str]) -> Map<String, Value> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    /// A key: `Some(name)` when it is wanted (copied only then).
    struct Key<'f>(&'f [&'f str]);
    impl<'de> DeserializeSeed<'de> for Key<'_> {
        type Value = Option<String>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }
    impl<'de> Visitor<'de> for Key<'_> {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a field name")
        }
        fn visit_str<E>(self, k: &str) -> Result<Self::Value, E> {
            Ok(self.0.contains(&k).then(|| k.to_string()))
        }
    }
    struct Pick<'f>(&'f [&'f str]);
    impl<'de> Visitor<'de> for Pick<'_> {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut out = Map::new();
            while let Some(k) = m.next_key_seed(Key(self.0))? {
                match k {
                    Some(k) => {
                        out.insert(k, m.next_value::<Value>()?);
                    }
                    None => {
                        m.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(out)
        }
    }
    serde_json::Deserializer::from_str(text).deserialize_map(Pick(fields)).unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct Query {
    tests: Vec<Test>,
    pub start: usize,
    pub max: usize,
    /// The filter parameters as given, for the links.
    kept: Vec<(String, String)>,
}

fn digits(s: &str) -> Option<String> {
    crate::normalize::digits(s)
}

impl Query {
    pub fn parse(params: &[(String, String)], filters: &[(&'static str, Filter)]) -> ApiResult<Query> {
        let mut q = Query { tests: vec![], start: 0, max: DEFAULT_MAX, kept: vec![] };
        for (k, v) in params {
            let v = v.trim();
            match k.as_str() {
                "startIndex" => {
                    q.start = v.parse().map_err(|_| {
                        ApiError::bad_request("startIndex", format!("'{v}' is not a non-negative integer"))
                    })?
                }
                "maxResults" => {
                    let m: usize = v
                        .parse()
                        .map_err(|_| ApiError::bad_request("maxResults", format!("'{v}' is not a positive integer")))?;
                    if m == 0 {
                        return Err(ApiError::bad_request("maxResults", "must be at least 1"));
                    }
                    q.max = m.min(LIMIT_MAX);
                }
                _ => {
                    let Some(&(_, f)) = filters.iter().find(|(name, _)| *name == k) else { continue };
                    if v.is_empty() {
                        continue;
                    }
                    q.kept.push((k.clone(), v.to_string()));
                    let bad = |what: &str| ApiError::bad_request(k.clone(), format!("'{v}' is not {what}"));
                    let t = match f {
                        Filter::Text(field) => Test::Text(field, v.to_lowercase()),
                        // Compared in the API's spelling, as items are stored (an alias finds its value).
                        Filter::Enum(field, spell) => {
                            Test::Text(field, spell(v).ok_or_else(|| bad("a valid value"))?.to_lowercase())
                        }
                        Filter::Address(field) => Test::Address(field, v.to_lowercase(), digits(v)),
                        Filter::Int(field) => Test::Int(field, v.parse().map_err(|_| bad("an integer"))?),
                        Filter::Bool(field) => Test::Bool(
                            field,
                            match v.to_ascii_lowercase().as_str() {
                                "true" => true,
                                "false" => false,
                                _ => return Err(bad("true or false")),
                            },
                        ),
                        Filter::List(field) => Test::List(field, split(v)),
                        Filter::EnumList(field, spell) => {
                            let mut items = split(v);
                            for x in &mut items {
                                let Some(t) = spell(x) else {
                                    return Err(ApiError::bad_request(
                                        k.clone(),
                                        format!("'{x}' is not a valid value"),
                                    ));
                                };
                                *x = t.to_lowercase();
                            }
                            Test::List(field, items)
                        }
                        Filter::From(field) => Test::From(field, parse_instant(v).ok_or_else(|| bad("an instant"))?),
                        Filter::To(field) => Test::To(field, parse_instant(v).ok_or_else(|| bad("an instant"))?),
                    };
                    q.tests.push(t);
                }
            }
        }
        Ok(q)
    }

    /// Whether any filter was given (no filter: every item matches).
    pub fn filters(&self) -> bool {
        !self.tests.is_empty()
    }

    /// The item fields the filters read.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self
            .tests
            .iter()
            .map(|t| match t {
                Test::Text(f, _)
                | Test::Address(f, _, _)
                | Test::Int(f, _)
                | Test::Bool(f, _)
                | Test::List(f, _)
                | Test::From(f, _)
                | Test::To(f, _) => *f,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn matches(&self, item: &Map<String, Value>) -> bool {
        self.tests.iter().all(|t| test(t, item))
    }

    pub fn body(&self, kind: &str, field: &str, path: &str, total: usize, page: Vec<Value>) -> Value {
        let link = |start: usize| {
            let mut s = format!("{path}?startIndex={start}&maxResults={}", self.max);
            for (k, v) in &self.kept {
                s.push('&');
                s.push_str(k);
                s.push('=');
                s.push_str(&encode(v));
            }
            s
        };
        let last = if total == 0 { 0 } else { (total - 1) / self.max * self.max };
        let mut links = Map::new();
        links.insert("first".into(), link(0).into());
        links.insert("last".into(), link(last).into());
        if self.start + self.max < total {
            links.insert("next".into(), link(self.start + self.max).into());
        }
        if self.start > 0 {
            links.insert("prev".into(), link(self.start.saturating_sub(self.max)).into());
        }
        let mut body = json!({"kind": kind, "totalItems": total, "links": links});
        body[field] = Value::Array(page);
        body
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' | b':' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn split(v: &str) -> Vec<String> {
    v.split(',').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect()
}

fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn test(t: &Test, item: &Map<String, Value>) -> bool {
    match t {
        Test::Text(f, want) => text_of(item.get(*f)).is_some_and(|x| &x == want),
        Test::Address(f, want, want_digits) => text_of(item.get(*f))
            .is_some_and(|x| &x == want || (want_digits.is_some() && digits(&x).as_ref() == want_digits.as_ref())),
        Test::Int(f, want) => item.get(*f).and_then(Value::as_i64) == Some(*want),
        Test::Bool(f, want) => item.get(*f).and_then(Value::as_bool).unwrap_or(true) == *want,
        Test::List(f, wants) => match item.get(*f) {
            Some(Value::Array(a)) => a.iter().filter_map(|x| text_of(Some(x))).any(|x| wants.contains(&x)),
            Some(Value::String(s)) => split(s).iter().any(|x| wants.contains(x)),
            _ => false,
        },
        Test::From(f, from) => item.get(*f).and_then(Value::as_str).and_then(parse_instant).is_some_and(|t| t >= *from),
        Test::To(f, to) => item.get(*f).and_then(Value::as_str).and_then(parse_instant).is_some_and(|t| t <= *to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_fields_keeps_only_the_named_fields() {
        let text = r#"{"a\u0062":1,"id":"x","nested":{"id":"no","l":[1,{"k":"\""}]},"list":["A","b"],"n":null}"#;
        let m = parse_fields(text, &["ab", "list", "n", "missing"]);
        assert_eq!(Value::Object(m), json!({"ab": 1, "list": ["A", "b"], "n": null}));
        // Filters read the same values from it as from the whole item.
        let whole: Map<String, Value> = serde_json::from_str(text).unwrap();
        let q = Query::parse(&[("list".into(), "B".into())], &[("list", Filter::List("list"))]).unwrap();
        assert!(q.matches(&parse_fields(text, &q.fields())) && q.matches(&whole));
        assert!(parse_fields("[1,2]", &["a"]).is_empty());
        assert!(parse_fields("{\"a\":", &["a"]).is_empty());
    }
}
