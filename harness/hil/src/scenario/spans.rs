//! Where things are in a scenario file: a tree of the document's tables,
//! arrays and values with their byte spans, so that checks made after
//! parsing (a `for` that runs past the end, a password without a user) can
//! still point at the exact value.
//!
//! toml gives spans through `serde_spanned`'s private struct protocol, and
//! gives none for implicit tables (`[workload]` only named by
//! `[[workload.publish]]`); `SNode` speaks that protocol and accepts both.

use std::fmt;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

// serde_spanned's protocol (serde_spanned 0.6, used by toml 0.8).
const NAME: &str = "$__serde_spanned_private_Spanned";
const START: &str = "$__serde_spanned_private_start";
const END: &str = "$__serde_spanned_private_end";
const VALUE: &str = "$__serde_spanned_private_value";

enum Node {
    Table(Vec<(String, SNode)>),
    Array(Vec<SNode>),
    Leaf,
}

/// A node and its span, when toml knows it.
struct SNode {
    span: Option<Range<usize>>,
    node: Node,
}

struct NodeVisitor;

macro_rules! leaf {
    ($($f:ident: $t:ty),*) => {$(
        fn $f<E: serde::de::Error>(self, _: $t) -> Result<Node, E> { Ok(Node::Leaf) }
    )*};
}

impl NodeVisitor {
    fn table_from<'de, A: MapAccess<'de>>(
        mut m: A,
        first: Option<String>,
    ) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        if let Some(k) = first {
            let v = m.next_value::<SNode>()?;
            entries.push((k, v));
        }
        while let Some(k) = m.next_key::<String>()? {
            let v = m.next_value::<SNode>()?;
            entries.push((k, v));
        }
        Ok(Node::Table(entries))
    }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }
    leaf!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);
    fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Node, A::Error> {
        NodeVisitor::table_from(m, None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = s.next_element::<SNode>()? {
            items.push(v);
        }
        Ok(Node::Array(items))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct SNodeVisitor;

impl<'de> Visitor<'de> for SNodeVisitor {
    type Value = SNode;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SNode, E> {
        Ok(SNode {
            span: None,
            node: Node::Leaf,
        })
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SNode, E> {
        Ok(SNode {
            span: None,
            node: Node::Leaf,
        })
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SNode, E> {
        Ok(SNode {
            span: None,
            node: Node::Leaf,
        })
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SNode, E> {
        Ok(SNode {
            span: None,
            node: Node::Leaf,
        })
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<SNode, E> {
        Ok(SNode {
            span: None,
            node: Node::Leaf,
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<SNode, A::Error> {
        Ok(SNode {
            span: None,
            node: NodeVisitor.visit_seq(s)?,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<SNode, A::Error> {
        let Some(first) = m.next_key::<String>()? else {
            return Ok(SNode {
                span: None,
                node: Node::Table(vec![]),
            });
        };
        if first != START {
            // No span: this is the table itself.
            return Ok(SNode {
                span: None,
                node: NodeVisitor::table_from(m, Some(first))?,
            });
        }
        let start: usize = m.next_value()?;
        let mut end = start;
        let mut node = Node::Leaf;
        while let Some(k) = m.next_key::<String>()? {
            if k == END {
                end = m.next_value()?;
            } else if k == VALUE {
                node = m.next_value()?;
            } else {
                let _: serde::de::IgnoredAny = m.next_value()?;
            }
        }
        Ok(SNode {
            span: Some(start..end),
            node,
        })
    }
}

impl<'de> Deserialize<'de> for SNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SNode, D::Error> {
        d.deserialize_struct(NAME, &[START, END, VALUE], SNodeVisitor)
    }
}

/// The spans of a parsed document.
pub struct Spans {
    root: Node,
}

impl Spans {
    /// Indexes `src`; `None` if it is not valid TOML.
    pub fn parse(src: &str) -> Option<Spans> {
        toml::from_str::<Node>(src).ok().map(|root| Spans { root })
    }

    /// The span of the value at `path` (dot-separated keys and array
    /// indexes, e.g. `workload.publish.0.interval`); `None` if absent or
    /// unknown.
    pub fn value(&self, path: &str) -> Option<Range<usize>> {
        let mut node = &self.root;
        let mut found = None;
        for part in path.split('.') {
            let next = match node {
                Node::Table(entries) => &entries.iter().find(|(name, _)| name == part)?.1,
                Node::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                Node::Leaf => return None,
            };
            found = next.span.clone();
            node = &next.node;
        }
        found
    }

    /// The value's span at `path`, else the closest ancestor's that has one.
    pub fn nearest(&self, path: &str) -> Option<Range<usize>> {
        let mut p = path.to_string();
        loop {
            if let Some(s) = self.value(&p) {
                return Some(s);
            }
            match p.rfind('.') {
                Some(i) => p.truncate(i),
                None => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_by_path() {
        let src = "name = \"x\"\n[dut]\nkeepalive = \"60s\"\n[[workload.publish]]\ntopic = \"a\"\n[network]\ndut = { latency = { min = \"1ms\", max = \"2ms\" } }\n";
        let s = Spans::parse(src).unwrap();
        assert_eq!(&src[s.value("dut.keepalive").unwrap()], "\"60s\"");
        assert_eq!(&src[s.value("workload.publish.0.topic").unwrap()], "\"a\"");
        assert_eq!(&src[s.value("network.dut.latency.max").unwrap()], "\"2ms\"");
        assert!(s.value("dut.nothing").is_none());
        assert_eq!(s.nearest("dut.nothing"), s.value("dut"));
        assert!(s.nearest("workload.publish.0.interval").is_some());
    }
}
