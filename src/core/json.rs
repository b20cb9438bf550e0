//! Reading and writing JSON values without indexing: `value["key"] = …` panics when `value` is
//! not an object, and this crate denies indexing outside tests.

use serde_json::Value;

static NULL: Value = Value::Null;

/// The value at JSON Pointer `pointer` (`/team/id`), or `null` when there is none.
pub fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value.pointer(pointer).unwrap_or(&NULL)
}

/// The string at `pointer`, if there is one.
pub fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The string field `name` of an object, or `""` when it has none.
pub fn field<'a>(object: &'a Value, name: &str) -> &'a str {
    object.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// Sets `key` of `object` to `new`; does nothing when `object` is not an object.
pub fn set(object: &mut Value, key: &str, new: impl Into<Value>) {
    if let Some(map) = object.as_object_mut() {
        map.insert(key.to_owned(), new.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_follow_pointers_and_default_to_null() {
        let value = json!({"team": {"id": "T1"}, "ok": true});
        assert_eq!(at(&value, "/team/id"), "T1");
        assert_eq!(at(&value, "/team/name"), &Value::Null);
        assert_eq!(text(&value, "/team/id"), Some("T1"));
        assert_eq!(text(&value, "/ok"), None);
        assert_eq!(field(&value, "ok"), "", "not a string");
        assert_eq!(field(&value, "missing"), "");
        assert_eq!(field(&json!({"id": "env_1"}), "id"), "env_1");
    }

    #[test]
    fn writes_go_into_objects_only() {
        let mut object = json!({"a": 1});
        set(&mut object, "b", 2);
        assert_eq!(object, json!({"a": 1, "b": 2}));
        let mut array = json!([1]);
        set(&mut array, "b", 2);
        assert_eq!(array, json!([1]), "no panic, no change");
    }
}
