//! Helpers of the tests that feed layers malformed config values.

use serde_json::Value;

/// The error text of `result`, which must be an error.
pub fn message<T>(what: &str, result: krust_nn::Result<T>) -> String {
    match result {
        Ok(_) => panic!("{what}: a malformed config was accepted"),
        Err(e) => e.to_string(),
    }
}

/// `base` with `key` set to the JSON text `value`.
pub fn with(base: &Value, key: &str, value: &str) -> Value {
    let mut config = base.clone();
    config[key] = serde_json::from_str(value).unwrap();
    config
}
