//! Just enough of Internet mail (RFC 5322, MIME) to read a received message and write a plain
//! reply: what email ingress and answers need, nothing more.
//!
//! # What's in scope
//! - [`Message::parse`]: the header fields in order (unfolded, names case-insensitive) and the
//!   body, split at the first empty line; a bare `\n` is read as a line end too.
//! - [`Message::text`]: the readable text: the first `text/plain` part (else a `text/html` part
//!   with its tags dropped) of a single-part or (nested) multipart body, decoded from base64 or
//!   quoted-printable, in UTF-8, US-ASCII or ISO-8859-1 (other charsets read as UTF-8, lossily).
//! - [`decode_words`]: RFC 2047 encoded words (`=?UTF-8?B?…?=`, `?Q?`) in `Subject` and display
//!   names; [`address`]: the address inside `Name <addr>`; [`message_ids`]: the `<id>`s of
//!   `In-Reply-To` and `References`.
//! - [`encode_word`], [`base64_lines`] and [`date`]: what a reply's header and body need.
//!
//! # What's out of scope
//! Attachments, S/MIME, charsets beyond the three above, group syntax, comments in addresses.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The deepest multipart nesting read.
const MAX_DEPTH: usize = 5;

/// A parsed message (or MIME part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Header fields in order: (name, unfolded value).
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: &'a [u8],
}

impl<'a> Message<'a> {
    /// Splits `raw` into header fields and body; 8-bit header bytes that are not UTF-8 are read
    /// lossily. `None` when a header line holds a bare CR or another control character: it
    /// could end a line for some reader, and values from the header go into replies' headers.
    pub fn parse(raw: &'a [u8]) -> Option<Message<'a>> {
        let (head, body) = split_head(raw);
        let head = String::from_utf8_lossy(head);
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
        {
            if line.chars().any(|c| c.is_control() && c != '\t') {
                return None;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Some(Message { headers, body })
    }

    /// How many fields are called `name`.
    pub fn count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(field, _)| field.eq_ignore_ascii_case(name))
            .count()
    }

    /// The first field called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The readable text of the message: see the module documentation.
    pub fn text(&self) -> Option<String> {
        self.text_at(0)
    }

    fn text_at(&self, depth: usize) -> Option<String> {
        let content_type = self.header("Content-Type").unwrap_or("text/plain");
        let (kind, parameters) = content_type.split_once(';').unwrap_or((content_type, ""));
        let kind = kind.trim().to_ascii_lowercase();
        if let Some(boundary) = kind
            .starts_with("multipart/")
            .then(|| parameter(parameters, "boundary"))
            .flatten()
        {
            if depth >= MAX_DEPTH {
                return None;
            }
            let parts: Vec<Message<'_>> = parts(self.body, &boundary)
                .filter_map(Message::parse)
                .collect();
            let plain = parts
                .iter()
                .find_map(|part| part.text_of_kind(depth, "text/plain"));
            return plain.or_else(|| parts.iter().find_map(|part| part.text_at(depth + 1)));
        }
        let charset = parameter(parameters, "charset").unwrap_or_default();
        let decoded = decode_transfer(self.body, self.header("Content-Transfer-Encoding"));
        let text = to_text(&decoded, &charset);
        match kind.as_str() {
            "text/plain" => Some(text),
            "text/html" => Some(without_tags(&text)),
            _ => None,
        }
    }

    /// This part's text when it is of `kind` (or a multipart holding one).
    fn text_of_kind(&self, depth: usize, kind: &str) -> Option<String> {
        let content_type = self.header("Content-Type").unwrap_or("text/plain");
        let own = content_type.split(';').next().unwrap_or_default().trim();
        if own.eq_ignore_ascii_case(kind) || own.to_ascii_lowercase().starts_with("multipart/") {
            self.text_at(depth + 1)
        } else {
            None
        }
    }
}

/// The header and the body of `raw`, split at the first empty line.
fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    let mut at = 0;
    while at < raw.len() {
        let rest = raw.get(at..).unwrap_or_default();
        let line_end = rest
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = rest.get(..line_end).unwrap_or_default();
        if line == b"\n" || line == b"\r\n" {
            return (
                raw.get(..at).unwrap_or_default(),
                raw.get(at + line_end..).unwrap_or_default(),
            );
        }
        at += line_end;
    }
    (raw, &[])
}

/// The parts of a multipart `body` between `--boundary` lines.
fn parts<'a>(body: &'a [u8], boundary: &str) -> impl Iterator<Item = &'a [u8]> + 'a {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut starts = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let rest = body.get(at..).unwrap_or_default();
        let line_end = rest
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        if rest.starts_with(&delimiter) {
            starts.push((at, at + line_end));
        }
        at += line_end;
    }
    let bounds: Vec<(usize, usize)> = starts
        .windows(2)
        .filter_map(|pair| match pair {
            [(_, start), (end, _)] => Some((*start, *end)),
            _ => None,
        })
        .collect();
    bounds
        .into_iter()
        .filter_map(move |(start, end)| body.get(start..end))
}

/// The value of parameter `name` in `; a=b; name="value"`.
fn parameter(parameters: &str, name: &str) -> Option<String> {
    parameters.split(';').find_map(|parameter| {
        let (key, value) = parameter.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// `body` decoded from its `Content-Transfer-Encoding`.
fn decode_transfer(body: &[u8], encoding: Option<&str>) -> Vec<u8> {
    match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        Some("base64") => {
            let compact: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            STANDARD.decode(compact).unwrap_or_default()
        }
        Some("quoted-printable") => quoted_printable(body, false),
        _ => body.to_vec(),
    }
}

/// Quoted-printable (`=XX`, soft line breaks `=\r\n`); `underscores` reads `_` as a space (the
/// `Q` encoding of encoded words).
fn quoted_printable(text: &[u8], underscores: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        match byte {
            b'=' => {
                let high = bytes.next();
                match high {
                    Some(b'\n') => {}
                    Some(b'\r') => {
                        bytes.next_if_eq(&b'\n');
                    }
                    Some(high) => {
                        let low = bytes.next().unwrap_or(b' ');
                        match (hex(high), hex(low)) {
                            (Some(h), Some(l)) => out.push(h << 4 | l),
                            _ => out.extend([b'=', high, low]),
                        }
                    }
                    None => out.push(b'='),
                }
            }
            b'_' if underscores => out.push(b' '),
            other => out.push(other),
        }
    }
    out
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

/// `bytes` in `charset` as text.
fn to_text(bytes: &[u8], charset: &str) -> String {
    match charset.to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin1" | "us-ascii" if !bytes.is_ascii() => {
            bytes.iter().map(|byte| *byte as char).collect()
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// HTML as text: tags dropped, the common entities read, blank runs collapsed.
fn without_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `value` with its RFC 2047 encoded words decoded.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, word) = rest.split_at(start);
        let decoded = encoded_word(word);
        // Blanks between two encoded words are not part of the text.
        if !(after_word && decoded.is_some() && before.trim().is_empty()) {
            out.push_str(before);
        }
        match decoded {
            Some((text, used)) => {
                out.push_str(&text);
                rest = word.get(used..).unwrap_or_default();
                after_word = true;
            }
            None => {
                out.push_str("=?");
                rest = word.get(2..).unwrap_or_default();
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of the encoded word at the start of `word` and its length.
fn encoded_word(word: &str) -> Option<(String, usize)> {
    let inner = word.get(2..)?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = inner.get(..end)?;
    let bytes = match encoding {
        "B" | "b" => STANDARD.decode(text).ok()?,
        "Q" | "q" => quoted_printable(text.as_bytes(), true),
        _ => return None,
    };
    let used = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    Some((to_text(&bytes, charset), used))
}

/// `value` without its RFC 5322 comments (`(…)`, nested, with `\\`-quoted characters), quoted
/// strings kept as they are: what an address or a result is read from, so text a sender puts in
/// a comment is never taken for one.
pub fn without_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The one address of a `From`- or `To`-style value (`Name <addr>` or `addr`, comments
/// ignored), lower case. `None` for a list of several, a quoted or otherwise unusual local part,
/// or any character outside RFC 5322's atoms: addresses go into replies' headers.
pub fn address(value: &str) -> Option<String> {
    let value = without_comments(value);
    if value.matches('<').count() > 1 || value.matches('>').count() > 1 {
        return None;
    }
    let inner = match (value.find('<'), value.find('>')) {
        (Some(open), Some(close)) if open < close => value.get(open + 1..close)?,
        (None, None) => value.as_str(),
        _ => return None,
    };
    let inner = inner.trim();
    let (local, domain) = inner.rsplit_once('@')?;
    let atom = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    let host = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    let valid = !local.is_empty()
        && local.chars().all(atom)
        && domain.contains('.')
        && domain.chars().all(host);
    valid.then(|| inner.to_ascii_lowercase())
}

/// The display name of `Name <addr>`, decoded.
pub fn display_name(value: &str) -> Option<String> {
    let value = without_comments(value);
    let (name, _) = value.split_once('<')?;
    let name = decode_words(name.trim().trim_matches('"').trim());
    (!name.is_empty()).then_some(name)
}

/// The message ids (`<…>`) in an `In-Reply-To` or `References` value, in order; ids with
/// anything but visible ASCII inside are left out.
pub fn message_ids(value: &str) -> Vec<String> {
    value
        .split('<')
        .skip(1)
        .filter_map(|part| part.split_once('>').map(|(id, _)| id.trim()))
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(|id| format!("<{id}>"))
        .collect()
}

/// `text` as a header value: as it is when it is short printable ASCII, else `B` encoded words
/// of at most 75 characters (RFC 2047), folded onto lines of their own.
pub fn encode_word(text: &str) -> String {
    let printable = text.bytes().all(|b| (0x20..0x7f).contains(&b));
    if printable && !text.contains("=?") && text.len() <= MAX_PLAIN_HEADER {
        return text.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > WORD_BYTES {
            words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
    words.join("\r\n ")
}

/// The longest subject kept, in characters.
pub const MAX_SUBJECT_CHARS: usize = 250;
/// The most ids a `References` value keeps: the first and the latest (RFC 5322 §3.6.4 lets a
/// long chain be cut so), so it stays one short line, and a reply capability small, whatever
/// the thread.
const MAX_REFERENCES: usize = 10;

/// `chain` (message ids) as a `References` value: its first id and its latest ones.
pub fn references<S: AsRef<str>>(chain: &[S]) -> String {
    let latest = chain.len().saturating_sub(MAX_REFERENCES - 1).max(1);
    let kept: Vec<&str> = chain
        .iter()
        .take(1)
        .chain(chain.iter().skip(latest))
        .map(AsRef::as_ref)
        .collect();
    kept.join(" ")
}

/// The longest header value written as it is.
const MAX_PLAIN_HEADER: usize = 900;
/// Bytes per encoded word: 45 bytes are 60 base64 characters, 72 with `=?UTF-8?B?…?=`.
const WORD_BYTES: usize = 45;

/// `bytes` in base64, in lines of 76 characters (a MIME body).
pub fn base64_lines(bytes: &[u8]) -> String {
    let encoded = STANDARD.encode(bytes);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .filter_map(|line| std::str::from_utf8(line).ok())
        .collect();
    lines.join("\r\n")
}

/// `at` (Unix seconds) as an RFC 5322 date: `Mon, 30 Nov 2026 10:00:00 +0000`.
pub fn date(at: u64) -> String {
    // 1970-01-01 was a Thursday.
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let stamp = crate::core::rfc3339::text(at);
    // `YYYY-MM-DDTHH:MM:SSZ`
    let field = |range: std::ops::Range<usize>| stamp.get(range).unwrap_or_default();
    let month: usize = field(5..7).parse().unwrap_or(1);
    let day = DAYS.get(((at / 86_400) % 7) as usize).unwrap_or(&"Thu");
    let month = MONTHS.get(month.saturating_sub(1)).unwrap_or(&"Jan");
    format!(
        "{day}, {} {month} {} {} +0000",
        field(8..10),
        field(0..4),
        field(11..19)
    )
}

#[cfg(test)]
#[path = "mime_test.rs"]
mod tests;
