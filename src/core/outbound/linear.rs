//! Commenting on Linear issues through its GraphQL API with the installation's access token (an
//! OAuth token, sent as `Bearer`, or a personal API key `lin_api_…`, sent as it is).
//!
//! - Send: `commentCreate` on the issue (the conversation), in the thread of the answered comment
//!   for a `reply` (its parent, or itself when it starts one), with an `id` derived from the
//!   message and part: Linear refuses a second comment with the same id, so a retry after a
//!   timeout cannot comment twice.
//! - Edit: `commentUpdate`; delete: `commentDelete`, both by that derived id. A retried send
//!   Linear refuses as a taken id, or a retried delete as not found, had landed: done. Texts are
//!   Markdown.
//! - Answers: GraphQL errors come with HTTP 200 or 400; `ratelimited` (or HTTP 429) waits,
//!   authentication errors fail with `credentials`, 5xx is retried.
//!
//! Sources: Linear's GraphQL schema (`packages/sdk/src/schema.graphql` in
//! <https://github.com/linear/linear>: `commentCreate`, `commentUpdate`, `commentDelete`), its
//! authentication and rate-limiting docs (<https://linear.app/developers/graphql>,
//! <https://linear.app/developers/rate-limiting>).

use super::conversation::{Op, Outcome};
use super::slack::quoted;
use super::ThreadMode;
use super::{derived_uuid, seconds_to_ms, Answer, Context, Failure, HttpCall, Sender, Target};
use crate::core::json;
use crate::core::markdown::Format;
use serde_json::{json, Value};

/// Linear's sender.
pub const SENDER: Sender = Sender {
    // CommonMark: Discord's rendering (backslash escapes, `[label](<url>)`) is valid Markdown.
    format: Format::Discord,
    interval_ms: 500,
    per_installation: None,
    typing: false,
    marks_read: false,
    starts_conversations: true,
    credential: "access_token",
    base_url_var: "LINEAR_API_BASE_URL",
    request,
    outcome,
};

const CREATE: &str = "mutation($input: CommentCreateInput!) \
    { commentCreate(input: $input) { success comment { id } } }";
const UPDATE: &str = "mutation($id: String!, $input: CommentUpdateInput!) \
    { commentUpdate(id: $id, input: $input) { success comment { id } } }";
const DELETE: &str = "mutation($id: String!) { commentDelete(id: $id) { success } }";

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let (query, variables, idempotent) = match op {
        Op::Send { part, text } => {
            let mut input = json!({"id": derived_uuid(context.message_id, *part),
                                   "issueId": target.conversation_id, "body": text});
            let thread = match target.thread {
                Some(ThreadMode::Channel) => None,
                _ => target.thread_id.as_ref().or(target.message_id.as_ref()),
            };
            if let Some(parent) = thread {
                json::set(&mut input, "parentId", parent.as_str());
            }
            (CREATE, json!({"input": input}), true)
        }
        // A part's comment id is always the one its send chose (a retried send that Linear had
        // taken is answered without one).
        Op::Edit { part, text, .. } => (
            UPDATE,
            json!({"id": derived_uuid(context.message_id, *part), "input": {"body": text}}),
            true,
        ),
        Op::Delete { part, .. } => (
            DELETE,
            json!({"id": derived_uuid(context.message_id, *part)}),
            true,
        ),
        Op::Typing | Op::MarkRead => return Ok(None),
    };
    Ok(Some(HttpCall {
        method: "POST",
        url: format!("{}/graphql", context.base_url.trim_end_matches('/')),
        headers: vec![
            ("Authorization", authorization(context.credential)),
            ("Content-Type", "application/json".to_owned()),
        ],
        body: Some(json!({"query": query, "variables": variables}).to_string()),
        idempotent,
        follow_redirects: true,
    }))
}

/// The `Authorization` header for `credential`: a personal API key (`lin_api_…`) as it is, an
/// OAuth token as `Bearer`.
pub fn authorization(credential: &str) -> String {
    if credential.starts_with("lin_api_") {
        credential.to_owned()
    } else {
        format!("Bearer {credential}")
    }
}

fn outcome(op: &Op, answer: &Answer<'_>) -> Outcome {
    let body: Value = serde_json::from_str(answer.body).unwrap_or(Value::Null);
    let error = json::at(&body, "/errors/0");
    let kind = json::text(error, "/extensions/type")
        .or_else(|| json::text(error, "/extensions/code"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    if answer.status == 429 || kind == "ratelimited" {
        return Outcome::RateLimited {
            after_ms: seconds_to_ms(answer.header("retry-after")),
        };
    }
    if answer.status >= 500 {
        return Outcome::Retry {
            reason: format!("Linear answered HTTP {}", answer.status),
        };
    }
    let result = json::at(&body, "/data")
        .as_object()
        .and_then(|data| data.values().next());
    if error.is_null() && result.is_some_and(|r| r["success"] == true) {
        let provider_id = match op {
            Op::Send { .. } => result
                .and_then(|r| json::text(r, "/comment/id"))
                .map(str::to_owned),
            _ => None,
        };
        return Outcome::Done { provider_id };
    }
    let message = json::text(error, "/message").unwrap_or("no reason given");
    let lower = message.to_ascii_lowercase();
    // A retry (after a timeout) of a call Linear had carried out: the comment's id is taken, or
    // it is gone already.
    let repeated = match op {
        Op::Send { .. } => lower.contains("already exists") || lower.contains("duplicate"),
        Op::Delete { .. } => lower.contains("not found"),
        _ => false,
    };
    if repeated {
        return Outcome::Done { provider_id: None };
    }
    let code = if answer.status == 401 || kind.contains("authentication") {
        "credentials"
    } else if kind.contains("forbidden") {
        "not_in_conversation"
    } else if lower.contains("not found") {
        "conversation_not_found"
    } else {
        "refused"
    };
    Outcome::Failed(Failure {
        code: code.to_owned(),
        reason: format!("Linear refused: {}", quoted(message)),
    })
}

#[cfg(test)]
#[path = "linear_test.rs"]
mod tests;
