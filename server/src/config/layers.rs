//! The layering itself, by config-rs: the parsed file as a source, the `OTN_*` environment with
//! nested keys (`OTN_DISPATCH__BATCH` is `dispatch.batch`), the flags as overrides, and its
//! errors turned into [`ConfigError`]s that never carry a value.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ::config as layered;

/// The environment as the configuration reads it: a copy of the process's (or, in tests, any
/// list of variables), so that loading never reads global state behind the caller's back.
#[derive(Debug, Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    /// The process's variables (those that are Unicode; the others are not configuration).
    pub fn process() -> Self {
        Self(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        )
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Why a configuration was refused. No variant holds a configuration value: a secret with a
/// typo must not end up in a log or a terminal.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML: its line and the parser's message, quoted values hidden.
    #[error("config file {}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    /// A value of the wrong type: the key, where it came from, and what was expected.
    #[error("configuration: {key} ({origin}): expected {expected}, found {found} \"***\"")]
    Type {
        key: String,
        origin: String,
        expected: String,
        /// The kind of value found (`string`, `boolean`, …), never the value.
        found: String,
    },
    /// A key no setting has, a missing one, a value outside its set: serde's message with
    /// quoted values hidden.
    #[error("configuration: {0}")]
    Invalid(String),
    /// A rule across settings (a page listed twice, a secret given twice, the sandbox on
    /// PostgreSQL, …).
    #[error("{0}")]
    Rule(String),
}

impl From<String> for ConfigError {
    fn from(rule: String) -> Self {
        Self::Rule(rule)
    }
}

/// The name of the variable that sets `key` (`dispatch.batch` → `OTN_DISPATCH__BATCH`).
pub(super) fn variable_of(key: &str) -> String {
    format!("OTN_{}", key.to_uppercase().replace('.', "__"))
}

/// Where a value of `key` came from, as an operator would look for it.
fn origin_name(origin: Option<&str>, key: &str) -> String {
    match origin {
        Some(ENV_ORIGIN) => variable_of(key),
        Some(o) => o.to_string(),
        None => "a flag".to_string(),
    }
}

const ENV_ORIGIN: &str = "the environment";

/// config-rs's error without its values.
pub(super) fn error(e: layered::ConfigError) -> ConfigError {
    match e {
        layered::ConfigError::Type {
            origin,
            unexpected,
            expected,
            key,
        } => {
            let key = key.unwrap_or_default();
            // `string "…"`, `64-bit integer `5``: the words before the value.
            let shown = unexpected.to_string();
            let found = shown
                .split(['"', '`'])
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            ConfigError::Type {
                origin: origin_name(origin.as_deref(), &key),
                key,
                expected: expected.to_string(),
                found,
            }
        }
        layered::ConfigError::At {
            error: inner,
            origin,
            key,
        } => match error(*inner) {
            ConfigError::Invalid(m) => ConfigError::Invalid(match (key, origin) {
                (Some(k), Some(o)) => format!("{k} ({}): {m}", origin_name(Some(&o), &k)),
                (Some(k), None) => format!("{k}: {m}"),
                (None, _) => m,
            }),
            ConfigError::Type {
                key: inner_key,
                origin: inner_origin,
                expected,
                found,
            } => {
                let key = key.unwrap_or(inner_key);
                ConfigError::Type {
                    origin: match origin {
                        Some(o) => origin_name(Some(&o), &key),
                        None => inner_origin,
                    },
                    key,
                    expected,
                    found,
                }
            }
            other => other,
        },
        other => ConfigError::Invalid(super::redact_values(&other.to_string())),
    }
}

/// The top-level keys of the configuration (serde's field list of [`super::Config`]): an
/// `OTN_*` variable whose first part names none of them is not configuration (the clients'
/// `OTN_URL`, `OTN_API_KEY`, the tests' `OTN_TEST_DATABASE_URL`).
fn top_level_keys() -> &'static [&'static str] {
    use serde::de::{self, Deserializer, Visitor, value::Error};
    struct Fields(Option<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for &mut Fields {
        type Error = Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(de::Error::custom("only a struct's fields are read"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            self.0 = Some(fields);
            Err(de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    static KEYS: std::sync::OnceLock<&'static [&'static str]> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut f = Fields(None);
        let _ = <super::Config as serde::Deserialize>::deserialize(&mut f);
        f.0.unwrap_or(&[])
    })
}

/// The `OTN_*` variables that set configuration keys, as config-rs's environment source:
/// `__` separates nested keys, values are parsed (numbers, booleans), the two subcode lists
/// are comma-separated, an empty variable is unset.
pub(super) fn environment(env: &Env) -> layered::Environment {
    let keys = top_level_keys();
    let vars: layered::Map<String, String> = env
        .0
        .iter()
        .filter(|(name, _)| {
            let Some(rest) = name.strip_prefix("OTN_") else {
                return false;
            };
            let first = rest.split("__").next().unwrap_or_default().to_lowercase();
            keys.contains(&first.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    layered::Environment::with_prefix("OTN")
        .prefix_separator("_")
        .separator("__")
        .try_parsing(true)
        .ignore_empty(true)
        .list_separator(",")
        .with_list_parse_key("messenger.spent_token_subcodes")
        .with_list_parse_key("messenger.invalid_token_subcodes")
        .source(Some(vars))
}

/// The configuration file, parsed (and its secrets resolved) by us, as a config-rs source.
#[derive(Debug, Clone)]
pub(super) struct FileSource {
    pub(super) origin: String,
    pub(super) table: toml::Table,
}

impl layered::Source for FileSource {
    fn clone_into_box(&self) -> Box<dyn layered::Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<layered::Map<String, layered::Value>, layered::ConfigError> {
        Ok(self
            .table
            .iter()
            .map(|(k, v)| (k.clone(), value(&self.origin, v)))
            .collect())
    }
}

fn value(origin: &String, v: &toml::Value) -> layered::Value {
    use layered::ValueKind as K;
    let kind = match v {
        toml::Value::String(s) => K::String(s.clone()),
        toml::Value::Integer(i) => K::I64(*i),
        toml::Value::Float(f) => K::Float(*f),
        toml::Value::Boolean(b) => K::Boolean(*b),
        toml::Value::Datetime(d) => K::String(d.to_string()),
        toml::Value::Array(a) => K::Array(a.iter().map(|v| value(origin, v)).collect()),
        toml::Value::Table(t) => K::Table(
            t.iter()
                .map(|(k, v)| (k.clone(), value(origin, v)))
                .collect(),
        ),
    };
    layered::Value::new(Some(origin), kind)
}
