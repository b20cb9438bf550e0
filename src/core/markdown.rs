//! Placeholder until the renderer lands (replaced in this same change).

/// How a provider formats text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Telegram HTML.
    TelegramHtml,
    /// Slack mrkdwn.
    SlackMrkdwn,
    /// Plain.
    Plain,
}

/// Placeholder.
pub fn render_parts(text: &str, _format: Format, _limit: usize) -> Vec<String> {
    if text.trim().is_empty() {
        Vec::new()
    } else {
        vec![text.to_owned()]
    }
}
