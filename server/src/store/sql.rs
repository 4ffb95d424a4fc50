//! A small SQL buffer that keeps text and bound values in step, with `?` placeholders.

use sea_orm::Value;

/// SQL text with its values, in order.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub values: Vec<Value>,
}

impl Sql {
    /// Starts with `text`.
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            values: Vec::new(),
        }
    }

    /// Appends text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a `?` bound to `v`.
    pub fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.values.push(v.into());
        self
    }

    /// Appends `?, ?, …` bound to each value.
    pub fn bind_list<V: Into<Value> + Clone>(&mut self, vs: &[V]) -> &mut Self {
        for (i, v) in vs.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v.clone());
        }
        self
    }
}
