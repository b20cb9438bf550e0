//! The binding page (`GET /bind/{id}?t=…`): one self-contained HTML document (no external
//! scripts, styles or fonts) that shows what a binding session binds (channel, org, agent), the
//! time it has left, its status, instructions and outcome, and what to do after a failure,
//! updating live from the session's event stream. Also the plain notices in the same style (a
//! refused link, the end of Slack's consent).
//!
//! # What's in scope
//! Filling the template (`assets/binding_page.html`, style `assets/binding_page.css`) safely: the
//! session id as HTML text, the events URL as a JavaScript string literal, the server's clock as
//! a number, and the per-response nonce its inline script and style carry, which
//! [`content_security_policy`] names.
//!
//! # What's out of scope
//! Checking the link's capability ([`crate::core::signed_link`]) and serving (the edge). The
//! template and style are static assets (served to the worker only, never compiled into the
//! Wasm): the edge reads them and passes them in as [`Templates`].

/// The page's template and style, as the edge read them from the static assets.
#[derive(Debug, Clone, Copy)]
pub struct Templates<'a> {
    /// `assets/binding_page.html`, with its `{{…}}` placeholders.
    pub page: &'a str,
    /// `assets/binding_page.css`.
    pub style: &'a str,
}

/// The page for session `session_id`, whose live status is at `events_url`, with `nonce` (fresh
/// random base64url per response) on its inline script and style; `now` (Unix seconds) lets it
/// count the time left by the server's clock.
pub fn render(
    templates: Templates<'_>,
    session_id: &str,
    events_url: &str,
    nonce: &str,
    now: u64,
) -> String {
    templates
        .page
        .replace("{{STYLE}}", templates.style)
        .replace("{{NONCE}}", &html_escape(nonce))
        .replace("{{SESSION_ID}}", &html_escape(session_id))
        .replace("{{EVENTS_URL}}", &script_string(events_url))
        .replace("{{NOW}}", &now.to_string())
}

/// A page with no script in the binding page's `style`: `title` as its heading and `message` as
/// its text (both escaped here); `problem` shows the message as one. Served as a static page.
pub fn notice(style: &str, title: &str, message: &str, problem: bool) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · channel-edge</title><style>{style}</style></head><body><main>\
         <h1>{title}</h1><p id=\"result\"{class}>{message}</p></main></body></html>",
        title = html_escape(title),
        message = html_escape(message),
        class = if problem { " class=\"problem\"" } else { "" },
    )
}

/// The `Content-Security-Policy` of a page rendered with `nonce`: only its own inline script and
/// style run, and it connects only to this origin.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
         connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

/// `text` safe inside HTML text and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `text` as a JavaScript string literal that cannot end the surrounding `<script>` element.
fn script_string(text: &str) -> String {
    serde_json::Value::from(text)
        .to_string()
        .replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATES: Templates<'static> = Templates {
        page: include_str!("../../assets/binding_page.html"),
        style: include_str!("../../assets/binding_page.css"),
    };
    const STYLE: &str = TEMPLATES.style;

    #[test]
    fn the_page_is_filled_and_self_contained() {
        let page = render(
            TEMPLATES,
            "bss_1",
            "/bind/bss_1/events?t=9.abc",
            "n0nce",
            1_700_000_000,
        );
        assert!(page.contains("<code>bss_1</code>"));
        assert!(page.contains(r#"new EventSource("/bind/bss_1/events?t=9.abc")"#));
        assert!(page.contains(r#"<script nonce="n0nce">"#));
        assert!(page.contains("var skew = 1700000000 - Date.now() / 1000;"));
        assert!(
            page.contains("grid-template-columns"),
            "the style is inlined"
        );
        for shown in [
            r#"id="channel""#,
            r#"id="org""#,
            r#"id="agent""#,
            r#"id="time-left""#,
        ] {
            assert!(page.contains(shown), "{shown}");
        }
        assert!(!page.contains("{{"), "every placeholder is filled");
        for external in ["<script src", "<link", "@import", "https://"] {
            assert!(!page.contains(external), "{external}");
        }
    }

    #[test]
    fn a_notice_is_styled_escaped_and_without_script() {
        let page = notice(STYLE, "Link not valid", "Ask <b>your</b> admin", true);
        assert!(page.contains("<h1>Link not valid</h1>"));
        assert!(page
            .contains(r#"<p id="result" class="problem">Ask &lt;b&gt;your&lt;/b&gt; admin</p>"#));
        assert!(page.contains("<style>") && page.contains("#status"));
        assert!(!page.contains("<script"));
        assert!(!notice(STYLE, "Done", "ok", false).contains("class=\"problem\""));
    }

    #[test]
    fn hostile_values_cannot_break_out() {
        let page = render(
            TEMPLATES,
            "<b>x</b>",
            "</script><script>alert(1)</script>",
            "\"><x",
            0,
        );
        assert!(!page.contains("<b>x</b>"));
        assert!(!page.contains("</script><script>alert(1)"));
        assert!(page.contains(r#"\u003c/script>"#));
        assert!(!page.contains("nonce=\"\"><x"));
    }

    #[test]
    fn the_policy_allows_only_the_nonce() {
        let policy = content_security_policy("abc");
        assert!(policy.contains("script-src 'nonce-abc'"));
        assert!(policy.starts_with("default-src 'none'"));
        assert!(!policy.contains("unsafe-inline"));
    }
}
