//! Small helpers over the D1 binding: typed arguments, queries that return JSON rows, and the
//! mapping of D1 failures to API errors.

use crate::core::api_error::ApiError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1DatabaseSession, D1PreparedStatement};

/// A bound query argument.
#[derive(Debug, Clone)]
pub enum Arg {
    /// TEXT
    Text(String),
    /// INTEGER (bound as a JS number: exact up to 2^53, which covers every value we store)
    Int(i64),
    /// NULL
    Null,
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Arg::Text(value.to_owned())
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Self {
        Arg::Text(value)
    }
}

impl From<&String> for Arg {
    fn from(value: &String) -> Self {
        Arg::Text(value.clone())
    }
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Arg::Int(value)
    }
}

impl From<u64> for Arg {
    fn from(value: u64) -> Self {
        Arg::Int(value as i64)
    }
}

impl<T: Into<Arg>> From<Option<T>> for Arg {
    fn from(value: Option<T>) -> Self {
        value.map_or(Arg::Null, Into::into)
    }
}

impl From<&Arg> for JsValue {
    fn from(arg: &Arg) -> Self {
        match arg {
            Arg::Text(text) => JsValue::from_str(text),
            Arg::Int(number) => JsValue::from_f64(*number as f64),
            Arg::Null => JsValue::NULL,
        }
    }
}

#[cfg(debug_assertions)]
thread_local! {
    /// Statements prepared in this isolate (development builds: `Server-Timing` shows how many
    /// a webhook made, `edge::timing`).
    pub static PREPARED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Where reads go: the database itself (its primary: what every write and every check that
/// must see the latest state uses), or a D1 session that may answer from a read replica.
pub enum Source<'a> {
    /// The primary.
    Primary(&'a D1Database),
    /// A session (`first-unconstrained`: the nearest replica is good enough).
    Replica(D1DatabaseSession),
}

impl Source<'_> {
    /// `sql` with `args` bound, to run in this source's batch.
    pub fn statement(&self, sql: &str, args: &[Arg]) -> Result<D1PreparedStatement, ApiError> {
        #[cfg(debug_assertions)]
        PREPARED.with(|prepared| prepared.set(prepared.get() + 1));
        let values: Vec<JsValue> = args.iter().map(JsValue::from).collect();
        let prepared = match self {
            Source::Primary(db) => db.prepare(sql),
            Source::Replica(session) => session.prepare(sql),
        };
        prepared.bind(&values).map_err(internal)
    }

    /// Runs `statements` (prepared by this source) in one round trip.
    pub async fn batch(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> Result<Vec<worker::D1Result>, ApiError> {
        let results = match self {
            Source::Primary(db) => db.batch(statements).await,
            Source::Replica(session) => session.batch(statements).await,
        };
        results.map_err(internal)
    }
}

/// `sql` with `args` bound (`?1`, `?2`, … in order), on the primary. Every statement of the
/// worker is made here or by [`Source::statement`].
pub fn statement(
    db: &D1Database,
    sql: &str,
    args: &[Arg],
) -> Result<D1PreparedStatement, ApiError> {
    Source::Primary(db).statement(sql, args)
}

/// Every row of a query, deserialised.
pub async fn all<T: DeserializeOwned>(
    db: &D1Database,
    sql: &str,
    args: &[Arg],
) -> Result<Vec<T>, ApiError> {
    statement(db, sql, args)?
        .all()
        .await
        .map_err(internal)?
        .results()
        .map_err(internal)
}

/// The first row of a query, if any.
pub async fn first<T: DeserializeOwned>(
    db: &D1Database,
    sql: &str,
    args: &[Arg],
) -> Result<Option<T>, ApiError> {
    statement(db, sql, args)?
        .first::<T>(None)
        .await
        .map_err(internal)
}

/// Every row of a query as JSON objects.
pub async fn rows(db: &D1Database, sql: &str, args: &[Arg]) -> Result<Vec<Value>, ApiError> {
    all::<Value>(db, sql, args).await
}

/// Runs statements in one D1 batch: one round trip, one transaction (all or nothing).
pub async fn batch(
    db: &D1Database,
    statements: Vec<D1PreparedStatement>,
) -> Result<(), worker::Error> {
    db.batch(statements).await.map(|_| ())
}

/// True when a D1 error is a uniqueness violation on `table`.
pub fn is_unique_violation(error: &worker::Error, table: &str) -> bool {
    let message = error.to_string();
    message.contains("UNIQUE constraint failed") && message.contains(&format!("{table}."))
}

/// Whether D1 answers a trivial query; why not, when it does not.
pub async fn ping(db: &D1Database) -> Result<(), String> {
    db.prepare("SELECT 1")
        .first::<Value>(None)
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// Logs a runtime error and returns the opaque 500.
pub fn internal(error: impl std::fmt::Display) -> ApiError {
    worker::console_error!("d1: {error}");
    ApiError::Internal
}
