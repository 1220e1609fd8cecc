//! Topic filter matching with `+` and `#`, as MQTT 3.1.1 section 4.7 and
//! mosquitto do it: `#` also matches the parent level (`a/#` matches `a`),
//! and topics starting with `$` are not matched by a wildcard in the first
//! level.

/// Whether `filter` (already valid) matches the topic name `topic`.
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(tl)) if fl == tl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Where a matching filter comes in mosquitto 2.0's walk of its
/// subscription tree for a topic: level by level, the literal branch first
/// (all of it), then `+`, then `#`. Sorting the filters that match a topic
/// by this key gives the order in which mosquitto finds them, which decides
/// which one a 3.1.1 client's single copy follows (the first found) and the
/// order of an MQTT 5 client's copies (one per match).
pub fn walk_order(filter: &str) -> Vec<u8> {
    filter
        .split('/')
        .map(|level| match level {
            "#" => 2,
            "+" => 1,
            _ => 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{matches, walk_order};

    #[test]
    fn the_walk_takes_literal_then_plus_then_hash_at_each_level() {
        let mut filters = ["#", "o/#", "o/+", "o/C", "+/C", "+/#"];
        filters.sort_by_key(|f| walk_order(f));
        assert_eq!(filters, ["o/C", "o/+", "o/#", "+/C", "+/#", "#"]);
        // `a/#` also matches `a`: found after `a` itself.
        assert!(walk_order("a") < walk_order("a/#"));
    }
    use proptest::prelude::*;

    #[test]
    fn wildcards() {
        assert!(matches("a/b", "a/b"));
        assert!(!matches("a/b", "a/c"));
        assert!(matches("a/+", "a/b"));
        assert!(!matches("a/+", "a/b/c"));
        assert!(!matches("a/+", "a"));
        assert!(matches("a/#", "a"));
        assert!(matches("a/#", "a/b/c"));
        assert!(matches("#", "a/b"));
        assert!(matches("+/+", "/x"));
        assert!(matches("+", "x"));
        assert!(!matches("+", "x/y"));
        assert!(matches("a/+/c", "a//c"));
        assert!(!matches("a/b/c", "a/b"));
    }

    #[test]
    fn dollar_topics_hide_from_first_level_wildcards() {
        assert!(!matches("#", "$SYS/broker"));
        assert!(!matches("+/broker", "$SYS/broker"));
        assert!(matches("$SYS/#", "$SYS/broker"));
        assert!(matches("$SYS/+", "$SYS/broker"));
        assert!(matches("a/#", "a/$b"));
    }

    proptest! {
        #[test]
        fn exact_filter_matches_itself(levels in proptest::collection::vec("[a-z$]{0,3}", 1..5)) {
            let topic = levels.join("/");
            prop_assume!(!topic.is_empty());
            prop_assert!(matches(&topic, &topic));
            // `#` matches everything except `$` topics.
            prop_assert_eq!(matches("#", &topic), !topic.starts_with('$'));
        }

        #[test]
        fn plus_replaces_any_one_level(levels in proptest::collection::vec("[a-z]{1,3}", 1..5), i in 0usize..5) {
            let topic = levels.join("/");
            let i = i % levels.len();
            let mut f = levels.clone();
            f[i] = "+".into();
            prop_assert!(matches(&f.join("/"), &topic));
            let mut longer = levels.clone();
            longer.push("x".into());
            prop_assert!(!matches(&f.join("/"), &longer.join("/")));
        }
    }
}
