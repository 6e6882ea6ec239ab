//! A JSON tree that keeps its objects' keys in the file's order.
//!
//! `stats.json` lists each block's counters in the order Linux prints them (`Ip: Forwarding
//! DefaultTTL InReceives …`), and the report shows them in that order; `serde_json::Value`
//! sorts keys (its `preserve_order` feature would change every crate's `Value`), so the
//! report reads the file into this small tree instead. Any self-describing serde format
//! deserializes into it (`stats.ron` too).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value; objects keep their keys in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`, or a unit / `None`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A non-negative integer.
    UInt(u64),
    /// A negative integer.
    Int(i64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Self>),
    /// An object, its members in the file's order.
    Object(Vec<(String, Self)>),
}

/// The empty object [`Json::get`] and friends fall back to.
static NULL: Json = Json::Null;

impl Json {
    /// The member `key` of an object, or [`Json::Null`].
    pub fn get(&self, key: &str) -> &Self {
        match self {
            Self::Object(members) => members
                .iter()
                .find(|(k, _)| k == key)
                .map_or(&NULL, |(_, v)| v),
            _ => &NULL,
        }
    }

    /// Element `i` of an array, or [`Json::Null`].
    pub fn at(&self, i: usize) -> &Self {
        match self {
            Self::Array(items) => items.get(i).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// The members of an object (none for anything else).
    pub fn members(&self) -> &[(String, Self)] {
        match self {
            Self::Object(members) => members,
            _ => &[],
        }
    }

    /// The items of an array (none for anything else).
    pub fn items(&self) -> &[Self] {
        match self {
            Self::Array(items) => items,
            _ => &[],
        }
    }

    /// The value as an unsigned integer, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::UInt(n) => Some(n),
            _ => None,
        }
    }

    /// The value as an unsigned integer, 0 when it is none.
    pub fn u64_or_zero(&self) -> u64 {
        self.as_u64().unwrap_or(0)
    }

    /// The value as a string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether it is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Self::Object(_))
    }

    /// A scalar as text (as the file wrote it, strings without quotes); `None` for arrays
    /// and objects.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Self::Null => Some("null".into()),
            Self::Bool(b) => Some(b.to_string()),
            Self::UInt(n) => Some(n.to_string()),
            Self::Int(n) => Some(n.to_string()),
            Self::Float(x) => Some(x.to_string()),
            Self::Str(s) => Some(s.clone()),
            Self::Array(_) | Self::Object(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        Ok(Json::UInt(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        Ok(u64::try_from(v).map_or(Json::Int(v), Json::UInt))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }
    fn visit_char<E: de::Error>(self, v: char) -> Result<Json, E> {
        Ok(Json::Str(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Json::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Json::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<Json, Json>()? {
            // JSON keys are strings; RON's may be other scalars.
            let key = key.scalar_text().unwrap_or_default();
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_the_file_order_and_numbers_their_kind() {
        let j: Json = serde_json::from_str(
            r#"{"z": 1, "a": {"InReceives": 4, "Forwarding": 2}, "l": [-3, 1.5, "x", null, true]}"#,
        )
        .unwrap();
        let keys: Vec<&str> = j.members().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["z", "a", "l"]);
        let inner: Vec<&str> = j
            .get("a")
            .members()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(inner, ["InReceives", "Forwarding"]);
        assert_eq!(j.get("z").as_u64(), Some(1));
        assert_eq!(j.get("l").at(0), &Json::Int(-3));
        assert_eq!(j.get("l").at(1), &Json::Float(1.5));
        assert_eq!(j.get("l").at(2).as_str(), Some("x"));
        assert_eq!(j.get("l").at(9), &Json::Null);
        assert_eq!(j.get("missing").get("deeper").u64_or_zero(), 0);
    }

    #[test]
    fn ron_reads_into_the_same_tree() {
        let j: Json = ron::from_str(r#"(sim_time_ns: 6, nodes: {"a": (kind: "host")})"#).unwrap();
        assert_eq!(j.get("sim_time_ns").as_u64(), Some(6));
        assert_eq!(j.get("nodes").get("a").get("kind").as_str(), Some("host"));
    }
}
