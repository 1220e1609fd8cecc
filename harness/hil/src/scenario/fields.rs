//! The parameters of one timeline or expectation entry, with their places in
//! the file. Fault kinds and oracles read their parameters through
//! [`Fields`], so every error (unknown field, missing field, wrong type, bad
//! value) points at the exact key or value and says what was expected.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;

use crate::diag::Diagnostic;

/// An entry as read from the file: keys and values with their spans.
pub type RawEntry = Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>;

struct Field {
    key: String,
    key_span: Range<usize>,
    value: toml::Value,
    value_span: Range<usize>,
    used: bool,
}

/// The not-yet-consumed parameters of one entry.
pub struct Fields {
    what: String,
    entry_span: Range<usize>,
    allowed: &'static [&'static str],
    fields: Vec<Field>,
}

/// Lists `names` as `` `a`, `b` `` for help lines (or "none").
pub fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Fields {
    /// Takes the entry apart, in file order.
    pub fn from_raw(raw: &RawEntry) -> Fields {
        let mut fields: Vec<Field> = raw
            .get_ref()
            .iter()
            .map(|(k, v)| Field {
                key: k.get_ref().clone(),
                key_span: k.span(),
                value: v.get_ref().clone(),
                value_span: v.span(),
                used: false,
            })
            .collect();
        fields.sort_by_key(|f| f.key_span.start);
        Fields {
            what: String::new(),
            entry_span: raw.span(),
            allowed: &[],
            fields,
        }
    }

    /// The whole entry's span.
    pub fn entry_span(&self) -> Range<usize> {
        self.entry_span.clone()
    }

    /// Removes a field the loader handles itself (`at`, `kind`, `optional`,
    /// `oracle`) and returns it with its value span.
    pub fn take_raw(&mut self, key: &str) -> Option<(toml::Value, Range<usize>, Range<usize>)> {
        let i = self.fields.iter().position(|f| f.key == key)?;
        let f = self.fields.remove(i);
        Some((f.value, f.key_span, f.value_span))
    }

    /// Like [`Fields::req`] for the loader's own keys.
    pub fn take<T: DeserializeOwned>(
        &mut self,
        key: &str,
        what: &str,
    ) -> Result<Option<(T, Range<usize>)>, Diagnostic> {
        match self.take_raw(key) {
            None => Ok(None),
            Some((value, _, span)) => T::deserialize(value)
                .map(|v| Some((v, span.clone())))
                .map_err(|e| {
                    Diagnostic::error(format!("{what}: `{key}`: {}", e.message()), Some(span))
                }),
        }
    }

    /// Names what the remaining fields describe (e.g. "fault `wifi_flap`") and
    /// the fields it accepts; any other field is an error naming the allowed
    /// ones.
    pub fn expect_only(
        &mut self,
        what: String,
        allowed: &'static [&'static str],
    ) -> Result<(), Diagnostic> {
        self.what = what;
        self.allowed = allowed;
        if let Some(f) = self
            .fields
            .iter()
            .find(|f| !allowed.contains(&f.key.as_str()))
        {
            return Err(Diagnostic::error(
                format!("unknown field `{}` in {}", f.key, self.what),
                Some(f.key_span.clone()),
            )
            .with_help(format!(
                "the fields of {} are: {}",
                self.what,
                list(allowed)
            )));
        }
        Ok(())
    }

    fn find(&mut self, key: &'static str) -> Option<&mut Field> {
        debug_assert!(
            self.allowed.contains(&key),
            "{key} is not declared in FIELDS of {}",
            self.what
        );
        self.fields.iter_mut().find(|f| f.key == key)
    }

    /// A field that may be absent.
    pub fn opt<T: DeserializeOwned>(&mut self, key: &'static str) -> Result<Option<T>, Diagnostic> {
        let what = self.what.clone();
        let Some(f) = self.find(key) else {
            return Ok(None);
        };
        f.used = true;
        T::deserialize(f.value.clone()).map(Some).map_err(|e| {
            Diagnostic::error(
                format!("{what}: `{key}`: {}", e.message()),
                Some(f.value_span.clone()),
            )
        })
    }

    /// A field that must be present.
    pub fn req<T: DeserializeOwned>(&mut self, key: &'static str) -> Result<T, Diagnostic> {
        match self.opt(key)? {
            Some(v) => Ok(v),
            None => Err(Diagnostic::error(
                format!("{} needs the field `{key}`", self.what),
                Some(self.entry_span.clone()),
            )
            .with_help(format!(
                "the fields of {} are: {}",
                self.what,
                list(self.allowed)
            ))),
        }
    }

    /// The span of a field's value (for errors found after parsing), or the
    /// entry's span when the field is absent.
    pub fn span_of(&self, key: &str) -> Range<usize> {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.value_span.clone())
            .unwrap_or_else(|| self.entry_span.clone())
    }

    /// An error about the value of `key`.
    pub fn invalid(&self, key: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(
            format!("{}: `{key}`: {}", self.what, message.into()),
            Some(self.span_of(key)),
        )
    }
}
