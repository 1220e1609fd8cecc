//! Topic aliases (MQTT 5.0 §3.3.2.3.4). They belong to one network
//! connection in each direction, so both tables live in the per-connection
//! state and are rebuilt empty at every CONNACK: after a reconnect the
//! first publish on a topic carries the full topic again.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};

/// How an outgoing PUBLISH names its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutTopic {
    /// The full topic, no alias (none allowed, or all in use).
    Full,
    /// The full topic, and it now stands for this new alias.
    Assign(u16),
    /// An empty topic and the alias set up earlier on this connection.
    Alias(u16),
}

/// Aliases we use towards the server, up to its Topic Alias Maximum.
/// Aliases are handed out 1, 2, ... to the first topics published and
/// kept for the connection (no eviction: a device publishes to few topics).
#[derive(Debug, Clone, Default)]
pub(crate) struct OutAliases {
    max: u16,
    by_topic: BTreeMap<String, u16>,
}

impl OutAliases {
    pub fn new(max: u16) -> Self {
        OutAliases {
            max,
            by_topic: BTreeMap::new(),
        }
    }

    /// How to send a publish on `topic`, recording a new alias.
    pub fn out_topic(&mut self, topic: &str) -> OutTopic {
        if let Some(&a) = self.by_topic.get(topic) {
            return OutTopic::Alias(a);
        }
        let used = self.by_topic.len();
        if used >= self.max as usize {
            return OutTopic::Full;
        }
        let alias = used as u16 + 1;
        self.by_topic.insert(topic.to_string(), alias);
        OutTopic::Assign(alias)
    }
}

/// Why an incoming alias is refused (the connection ends with 0x94).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AliasError {
    /// 0 or above the Topic Alias Maximum we advertised.
    OutOfRange(u16),
    /// An empty topic with an alias the server never set up.
    Unknown(u16),
}

/// Aliases the server uses towards us, up to the maximum we advertised.
#[derive(Debug, Clone, Default)]
pub(crate) struct InAliases {
    max: u16,
    topics: BTreeMap<u16, String>,
}

impl InAliases {
    pub fn new(max: u16) -> Self {
        InAliases {
            max,
            topics: BTreeMap::new(),
        }
    }

    /// The topic of an incoming PUBLISH: `topic` (recorded for `alias`
    /// when both are given) or the topic `alias` stands for.
    pub fn resolve(&mut self, topic: &str, alias: Option<u16>) -> Result<String, AliasError> {
        let Some(alias) = alias else {
            return Ok(topic.to_string());
        };
        if alias == 0 || alias > self.max {
            return Err(AliasError::OutOfRange(alias));
        }
        if topic.is_empty() {
            return self
                .topics
                .get(&alias)
                .cloned()
                .ok_or(AliasError::Unknown(alias));
        }
        self.topics.insert(alias, topic.to_string());
        Ok(topic.to_string())
    }
}
