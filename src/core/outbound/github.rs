//! Commenting on GitHub issues and pull requests through the REST API with the installation's
//! access token (an App installation token or a personal access token).
//!
//! - Send: `POST /repos/{owner}/{repo}/issues/{number}/comments` on the conversation
//!   `owner/repo#number`. Edit: `PATCH /repos/{owner}/{repo}/issues/comments/{id}`; delete:
//!   `DELETE` on the same. Texts are Markdown, at most 65,536 characters.
//! - A conversation or comment id not of GitHub's form fails the message before any call: the
//!   values go into the URL's path.
//! - Answers: 403 or 429 with `retry-after` or `x-ratelimit-remaining: 0` is a rate limit
//!   (secondary limits without a hint wait a minute); 5xx is retried; 401 is `credentials`, 404
//!   `conversation_not_found`.
//!
//! Sources: "REST API endpoints for issue comments" (<https://docs.github.com/en/rest/issues/comments>)
//! and "Rate limits for the REST API" (<https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api>).

use super::conversation::{Op, Outcome};
use super::slack::quoted;
use super::{seconds_to_ms, Answer, Context, Failure, HttpCall, Sender, Target};
use crate::core::json;
use crate::core::markdown::Format;
use serde_json::{json, Value};

/// GitHub's sender.
pub const SENDER: Sender = Sender {
    // CommonMark: Discord's rendering (backslash escapes, `[label](<url>)`) is valid Markdown.
    format: Format::Discord,
    // Content-creating requests: GitHub asks for at most about one a second.
    interval_ms: 1000,
    per_installation: None,
    typing: false,
    marks_read: false,
    starts_conversations: true,
    credential: "access_token",
    base_url_var: "GITHUB_API_BASE_URL",
    request,
    outcome,
};

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let (repository, number) = issue(&target.conversation_id).ok_or_else(|| Failure {
        code: "conversation_not_found".into(),
        reason: "a GitHub conversation is owner/repo#number".into(),
    })?;
    let comment = |id: &str| {
        let digits = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
        digits
            .then(|| format!("repos/{repository}/issues/comments/{id}"))
            .ok_or_else(|| Failure {
                code: "not_modifiable".into(),
                reason: "not a GitHub comment id".into(),
            })
    };
    let (method, path, body) = match op {
        Op::Send { text, .. } => (
            "POST",
            format!("repos/{repository}/issues/{number}/comments"),
            Some(json!({"body": text}).to_string()),
        ),
        Op::Edit {
            provider_id, text, ..
        } => (
            "PATCH",
            comment(provider_id)?,
            Some(json!({"body": text}).to_string()),
        ),
        Op::Delete { provider_id, .. } => ("DELETE", comment(provider_id)?, None),
        Op::Typing | Op::MarkRead => return Ok(None),
    };
    Ok(Some(HttpCall {
        method,
        url: format!("{}/{path}", context.base_url.trim_end_matches('/')),
        headers: vec![
            ("Authorization", format!("Bearer {}", context.credential)),
            ("Accept", "application/vnd.github+json".to_owned()),
            ("X-GitHub-Api-Version", "2022-11-28".to_owned()),
            ("User-Agent", "channel-edge".to_owned()),
            ("Content-Type", "application/json".to_owned()),
        ],
        body,
        idempotent: false,
        follow_redirects: true,
    }))
}

/// `owner/repo#number` as (`owner/repo`, number), when both names are GitHub's characters.
fn issue(conversation: &str) -> Option<(&str, u64)> {
    let (repository, number) = conversation.split_once('#')?;
    let (owner, name) = repository.split_once('/')?;
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let valid =
        |part: &str| !part.is_empty() && part != "." && part != ".." && part.chars().all(name_char);
    (valid(owner) && valid(name)).then_some(())?;
    let digits = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| number.parse().ok())
        .flatten()
        .map(|n| (repository, n))
}

fn outcome(_op: &Op, answer: &Answer<'_>) -> Outcome {
    let limited = matches!(answer.status, 403 | 429)
        && (answer.header("retry-after").is_some()
            || answer.header("x-ratelimit-remaining").map(str::trim) == Some("0")
            || answer.body.contains("rate limit"));
    if limited {
        let after_ms = match answer.header("retry-after") {
            Some(seconds) => seconds_to_ms(Some(seconds)),
            None => 60_000,
        };
        return Outcome::RateLimited { after_ms };
    }
    if answer.status >= 500 {
        return Outcome::Retry {
            reason: format!("GitHub answered HTTP {}", answer.status),
        };
    }
    let body: Value = serde_json::from_str(answer.body).unwrap_or(Value::Null);
    if (200..300).contains(&answer.status) {
        let provider_id = json::at(&body, "/id").as_u64().map(|id| id.to_string());
        return Outcome::Done { provider_id };
    }
    let message = json::text(&body, "/message").unwrap_or("no reason given");
    let code = match answer.status {
        401 => "credentials",
        404 | 410 => "conversation_not_found",
        403 => "not_in_conversation",
        _ => "refused",
    };
    Outcome::Failed(Failure {
        code: code.to_owned(),
        reason: format!(
            "GitHub refused (HTTP {}): {}",
            answer.status,
            quoted(message)
        ),
    })
}

#[cfg(test)]
#[path = "github_test.rs"]
mod tests;
