//! Small value types that check themselves while a scenario file is read, so
//! a bad value is reported at its own place in the file: [`Qos`], MQTT topic
//! names and filters, and [`Secret`] (a password that is never printed).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An MQTT quality of service: 0, 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Qos(u8);

impl Qos {
    pub const AT_MOST_ONCE: Qos = Qos(0);
    pub const AT_LEAST_ONCE: Qos = Qos(1);
    pub const EXACTLY_ONCE: Qos = Qos(2);

    /// `Some` for 0, 1 and 2.
    pub fn new(v: u8) -> Option<Qos> {
        (v <= 2).then_some(Qos(v))
    }

    /// 0, 1 or 2.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Qos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Qos {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}

impl<'de> Deserialize<'de> for Qos {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Qos, D::Error> {
        let v = i64::deserialize(d)?;
        u8::try_from(v)
            .ok()
            .and_then(Qos::new)
            .ok_or_else(|| serde::de::Error::custom(format!("qos must be 0, 1 or 2, not {v}")))
    }
}

/// Checks an MQTT topic name (what is published to): not empty, no
/// wildcards, no NUL, at most 65535 bytes.
pub fn check_topic_name(t: &str) -> Result<(), String> {
    if t.is_empty() {
        return Err("a topic name must not be empty".into());
    }
    if t.contains(['+', '#']) {
        return Err(format!(
            "topic name `{t}` must not contain wildcards (+ or #)"
        ));
    }
    if t.contains('\0') || t.len() > 65535 {
        return Err(format!("topic name `{t}` contains NUL or is too long"));
    }
    Ok(())
}

/// Checks an MQTT topic filter (what is subscribed to): `+` fills a whole
/// level, `#` is a whole last level.
pub fn check_topic_filter(t: &str) -> Result<(), String> {
    if t.is_empty() {
        return Err("a topic filter must not be empty".into());
    }
    if t.contains('\0') || t.len() > 65535 {
        return Err(format!("topic filter `{t}` contains NUL or is too long"));
    }
    let levels: Vec<&str> = t.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Err(format!(
                "topic filter `{t}`: `#` must be the whole last level"
            ));
        }
        if level.contains('+') && *level != "+" {
            return Err(format!("topic filter `{t}`: `+` must be a whole level"));
        }
    }
    Ok(())
}

/// True when the topic filter `filter` matches the topic name `topic`
/// (MQTT 3.1.1 section 4.7; topics starting with `$` are not matched by a
/// leading wildcard).
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps `s`.
            pub fn new(s: impl Into<String>) -> Result<Self, String> {
                let s = s.into();
                $check(&s)?;
                Ok($name(s))
            }
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

checked_string!(
    /// A topic name: something a client publishes to (no wildcards).
    TopicName,
    check_topic_name
);
checked_string!(
    /// A topic filter: something a client subscribes to.
    TopicFilter,
    check_topic_filter
);

/// A secret (an MQTT password). Written inline (`password = "..."`) or, better,
/// as the name of an environment variable read when the run starts
/// (`password = { env = "MQTT_PASSWORD" }`). `Debug`, `Display` and
/// `Serialize` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The value was written in the scenario file.
    Inline(String),
    /// The value is read from this environment variable at run time.
    Env(String),
}

impl Secret {
    /// The secret's value: the inline text, or the environment variable's.
    pub fn resolve(&self) -> Result<String, String> {
        match self {
            Secret::Inline(s) => Ok(s.clone()),
            Secret::Env(var) => std::env::var(var).map_err(|_| {
                format!("the password's environment variable `{var}` is not set (or not UTF-8)")
            }),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Inline(_) => f.write_str("Secret(<redacted>)"),
            Secret::Env(v) => write!(f, "Secret(env {v})"),
        }
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Inline(_) => f.write_str("<redacted>"),
            Secret::Env(v) => write!(f, "<from env {v}>"),
        }
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FromEnv {
            env: String,
        }
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "a password string or { env = \"VARIABLE\" }")]
        enum Form {
            Inline(String),
            Env(FromEnv),
        }
        Ok(match Form::deserialize(d)? {
            Form::Inline(s) => Secret::Inline(s),
            Form::Env(e) if e.env.is_empty() => {
                return Err(serde::de::Error::custom(
                    "the environment variable name is empty",
                ))
            }
            Form::Env(e) => Secret::Env(e.env),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_like_mqtt() {
        assert!(filter_matches("a/+/c", "a/b/c"));
        assert!(filter_matches("a/#", "a"));
        assert!(filter_matches("a/#", "a/b/c"));
        assert!(filter_matches("#", "a/b"));
        assert!(!filter_matches("#", "$SYS/x"));
        assert!(!filter_matches("a/+", "a/b/c"));
        assert!(!filter_matches("a/b", "a/c"));
        assert!(filter_matches("a/b", "a/b"));
    }

    #[test]
    fn filters_and_names_are_checked() {
        assert!(check_topic_filter("a/#/b").is_err());
        assert!(check_topic_filter("a/b+").is_err());
        assert!(check_topic_filter("a/+/#").is_ok());
        assert!(check_topic_name("a/+").is_err());
        assert!(check_topic_name("").is_err());
        assert!(check_topic_name("dut/telemetry").is_ok());
    }

    #[test]
    fn secrets_never_print_their_value() {
        let s = Secret::Inline("hunter2".into());
        assert!(!format!("{s:?} {s}").contains("hunter2"));
        assert!(!serde_json::to_string(&s).unwrap().contains("hunter2"));
        assert_eq!(s.resolve().unwrap(), "hunter2");
    }
}
