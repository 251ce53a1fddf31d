//! A minimal SQL text + arguments builder that numbers placeholders `$1, $2, …`.
//!
//! Hand-written because sqlx's `QueryBuilder<Any>` renders `?` placeholders, which
//! PostgreSQL rejects; `$N` is understood by both PostgreSQL and sqlx's SQLite driver, so
//! one SQL text serves both backends.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

#[derive(Default)]
pub(crate) struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql { text: text.to_owned(), args: Vec::new() }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Adds an argument and returns its placeholder, to be pushed (possibly several times).
    pub(crate) fn arg(&mut self, value: impl Into<Arg>) -> String {
        self.args.push(value.into());
        format!("${}", self.args.len())
    }

    /// Adds every value and returns the comma-separated placeholders, for `IN (…)`.
    pub(crate) fn arg_list<'v>(&mut self, values: impl IntoIterator<Item = &'v str>) -> String {
        values.into_iter().map(|v| self.arg(v)).collect::<Vec<_>>().join(", ")
    }

    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        self.args.iter().fold(sqlx::query(&self.text), |q, arg| match arg {
            Arg::Text(s) => q.bind(s.as_str()),
            Arg::Int(i) => q.bind(*i),
        })
    }

    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The same statement behind `prefix` (e.g. `EXPLAIN `), to inspect how it runs.
    #[cfg(test)]
    pub(crate) fn with_prefix(mut self, prefix: &str) -> Sql {
        self.text.insert_str(0, prefix);
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order_and_reusable() {
        let mut sql = Sql::new("SELECT 1 WHERE a = ");
        let a = sql.arg("x");
        sql.push(&a);
        let list = sql.arg_list(["p", "q"]);
        let b = sql.arg(7);
        sql.push(" AND b IN (").push(&list).push(") AND (c > ").push(&b).push(" OR c = ").push(&b).push(")");
        assert_eq!(sql.text(), "SELECT 1 WHERE a = $1 AND b IN ($2, $3) AND (c > $4 OR c = $4)");
        assert_eq!(sql.args.len(), 4);
    }
}
