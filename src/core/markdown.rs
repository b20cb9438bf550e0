//! The small Markdown subset an agent writes, turned into what a chat provider's API takes and
//! split into messages that each fit the provider's length limit.
//!
//! # What's in scope
//! - Parsing the subset: paragraphs, `**bold**`/`__bold__`, `*italic*`/`_italic_`,
//!   `` `inline code` ``, fenced code blocks, `[label](url)` links (http, https, mailto only)
//!   and one level of bullet or numbered lists; everything else is literal text.
//! - Rendering for Telegram HTML, Slack mrkdwn, WhatsApp text formatting, Discord message
//!   markdown and plain text, escaping so that model output can never inject markup, entities,
//!   mentions or broadcasts (within what each provider allows, see below).
//! - Splitting the rendered text into parts within a limit ([`render_parts`]), preferring block,
//!   sentence and word boundaries, never inside a character, an escape or a tag, each part
//!   well-formed on its own (formatting cut by a split is closed and reopened; a code block
//!   longer than a part becomes several complete code blocks).
//!
//! # What's out of scope
//! Sending, rate limits, and the providers' limits themselves (callers pass the limit in:
//! 4096 for Telegram, 4000 for Slack, 4096 for WhatsApp, 2000 for Discord), and Discord's
//! `allowed_mentions`, which the sending code sets.
//!
//! # Provider limits
//! - Slack has no escape for `*`, `_` or `` ` ``, so a literal marker in text may still be
//!   formatted by Slack.
//! - WhatsApp has no escapes at all: a literal `*`, `_`, `~`, `` ` `` or a leading `>` in text
//!   is left as it is and may still be formatted by WhatsApp; like Slack, it formats markers
//!   only at word boundaries, so emphasis inside a word may show its markers. WhatsApp shows
//!   entities literally, so `&`, `<`, `>` are not escaped either. As for Discord (below), code
//!   blocks get backtick runs broken and inline code containing a backtick becomes text; a
//!   backtick at the very start or end of a code block still touches the fence.
//! - Discord: literal text escapes `` \ * _ ~ ` | < > # [ ] `` with a backslash (brackets always,
//!   parentheses never: without an unescaped `[` no masked link can form; escaping `<` and `>`
//!   also breaks user, role and channel mentions). `@everyone` and `@here` (any case) in text
//!   get a zero-width space after the `@`, and `%40` for that `@` in a URL: defence in depth
//!   next to `allowed_mentions`. Code is not escaped, but a code block never contains two
//!   backticks in a row (a zero-width space goes between them), so it cannot close its fence
//!   early, and inline code containing a backtick is rendered as escaped text. A bare `http(s)`
//!   URL in text is sent as `<url>`, unescaped and never split, when it fits a part on its own
//!   (else as escaped text), so that escaping does not break the link.

use std::borrow::Cow;
use std::rc::Rc;

/// How a provider formats text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Telegram Bot API `parse_mode: "HTML"`.
    TelegramHtml,
    /// Slack `mrkdwn`.
    SlackMrkdwn,
    /// No formatting: the text as a reader would see it, markup removed; its length counted as
    /// the provider counts it.
    Plain(Count),
    /// WhatsApp Cloud API text formatting (`*bold*`, `_italic_`, `` `code` ``, ```` ```block``` ````).
    WhatsApp,
    /// Discord message markdown (`**bold**`, `*italic*`, `[label](<url>)`, backslash escapes).
    Discord,
}

/// How a provider counts the length of a plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Unicode scalar values.
    Chars,
    /// UTF-16 code units (LINE).
    Utf16,
    /// UTF-8 bytes (Instagram).
    Utf8,
}

/// Zero-width space: breaks a mass mention or a backtick run without changing what is shown.
const ZERO_WIDTH_SPACE: char = '\u{200B}';

/// Characters Discord would read as markup in literal text.
const DISCORD_ESCAPED: &str = "\\*_~`|<>#[]";

impl Format {
    /// The length of rendered text as the provider counts it: Telegram counts UTF-16 code units,
    /// Slack, WhatsApp and Discord count chars (Unicode scalar values), Plain its [`Count`].
    /// (Counting Telegram's tags too is deliberately conservative.)
    #[must_use]
    pub fn length(self, rendered: &str) -> usize {
        match self {
            Format::TelegramHtml | Format::Plain(Count::Utf16) => rendered.encode_utf16().count(),
            Format::Plain(Count::Utf8) => rendered.len(),
            Format::SlackMrkdwn
            | Format::Plain(Count::Chars)
            | Format::WhatsApp
            | Format::Discord => rendered.chars().count(),
        }
    }

    /// Escapes literal text for this format, so that it shows exactly as written: `&`, `<`, `>`
    /// become entities for Telegram HTML and Slack; Discord puts a backslash before its markup
    /// characters and a zero-width space after the `@` of `@everyone` and `@here`; Plain and
    /// WhatsApp text is returned unchanged.
    #[must_use]
    pub fn escape_text(self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for (index, ch) in text.char_indices() {
            push_escaped_char(self, ch, &mut out);
            if self == Format::Discord && ch == '@' && mass_mention_follows(text, index) {
                out.push(ZERO_WIDTH_SPACE);
            }
        }
        out
    }

    /// Escapes a URL for use inside this format's link markup: Telegram `href="…"` also
    /// escapes `"`; Slack `<url|label>` turns `|`, `<`, `>` into `%7C`, `%3C`, `%3E` and `&`
    /// into `&amp;`; Discord `(<url>)` turns `(`, `)`, `<`, `>`, `\` into `%28`, `%29`, `%3C`,
    /// `%3E`, `%5C` and the `@` of `@everyone`/`@here` into `%40`; Plain and WhatsApp return the
    /// URL unchanged.
    #[must_use]
    pub fn escape_url(self, url: &str) -> String {
        let mut out = String::with_capacity(url.len());
        for (index, ch) in url.char_indices() {
            if self == Format::Discord && ch == '@' && mass_mention_follows(url, index) {
                out.push_str("%40");
            } else {
                push_url_char(self, ch, &mut out);
            }
        }
        out
    }

    /// Formats without escapes for their markers, where a style nested in the same style would
    /// close it early: the inner one is dropped.
    fn merges_nested_styles(self) -> bool {
        matches!(self, Format::WhatsApp | Format::Discord)
    }

    /// Formats whose code blocks get backtick runs broken (see `break_backtick_runs`).
    fn breaks_backtick_runs(self) -> bool {
        matches!(self, Format::WhatsApp | Format::Discord)
    }

    /// Whether inline code may contain a backtick; where it may not, such code is shown as
    /// (escaped) text instead.
    fn code_spans_hold_backticks(self) -> bool {
        !matches!(self, Format::WhatsApp | Format::Discord)
    }

    /// Slack and WhatsApp emphasis and inline code do not span lines.
    fn closes_styles_at_line_breaks(self) -> bool {
        matches!(self, Format::SlackMrkdwn | Format::WhatsApp)
    }
}

/// Renders `text` (the Markdown subset) for `format` and splits it into messages of at most
/// `limit` units each (units as `format` counts them, see `Format::length`), in order. Never
/// returns an empty part; returns an empty Vec only for text that renders to nothing (empty or
/// only whitespace, including whitespace-only code blocks).
///
/// Splits between blocks when it can; a block longer than a part is split at a sentence end,
/// else at whitespace, else at a character (code blocks: at line ends, else at a character),
/// and formatting cut by a split is closed and reopened so every part is well-formed. A part in
/// which not even one character fits together with its markup is sent without formatting (but
/// still escaped); for limits below 8 a part may exceed the limit when not even one escaped
/// character fits.
#[must_use]
pub fn render_parts(text: &str, format: Format, limit: usize) -> Vec<String> {
    let units = build_units(&parse_blocks(text), format, limit);
    let mut parts = PartBuilder::new(format, limit);
    for unit in &units {
        parts.add_unit(unit);
    }
    parts.finish()
}

fn push_escaped_char(format: Format, ch: char, out: &mut String) {
    match format {
        Format::TelegramHtml | Format::SlackMrkdwn => push_entity_escaped_char(ch, out),
        Format::Discord if DISCORD_ESCAPED.contains(ch) => {
            out.push('\\');
            out.push(ch);
        }
        Format::Discord | Format::Plain(_) | Format::WhatsApp => out.push(ch),
    }
}

fn push_entity_escaped_char(ch: char, out: &mut String) {
    match ch {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        _ => out.push(ch),
    }
}

fn push_url_char(format: Format, ch: char, out: &mut String) {
    match (format, ch) {
        (Format::TelegramHtml, '"') => out.push_str("&quot;"),
        (Format::SlackMrkdwn, '|') => out.push_str("%7C"),
        (Format::SlackMrkdwn | Format::Discord, '<') => out.push_str("%3C"),
        (Format::SlackMrkdwn | Format::Discord, '>') => out.push_str("%3E"),
        (Format::Discord, '(') => out.push_str("%28"),
        (Format::Discord, ')') => out.push_str("%29"),
        (Format::Discord, '\\') => out.push_str("%5C"),
        (Format::Discord, _) => out.push(ch),
        _ => push_escaped_char(format, ch, out),
    }
}

/// Whether `everyone` or `here` (any case) follows the `@` at byte `at` of `text`.
fn mass_mention_follows(text: &str, at: usize) -> bool {
    let after = text.get(at.saturating_add(1)..).unwrap_or_default();
    starts_with_mass_mention(after.chars())
}

/// Whether `chars` (what follows an `@`) start with `everyone` or `here`, in any case.
fn starts_with_mass_mention(chars: impl Iterator<Item = char> + Clone) -> bool {
    ["everyone", "here"].iter().any(|word| {
        let mut rest = chars.clone();
        word.chars()
            .all(|w| rest.next().is_some_and(|c| c.to_ascii_lowercase() == w))
    })
}

// ---------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------

/// A block of the source text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Paragraph(String),
    ListItem {
        marker: String,
        text: String,
        starts_list: bool,
    },
    Code {
        lang: Option<String>,
        content: String,
    },
}

/// A block still collecting lines.
enum OpenBlock {
    Paragraph(Vec<String>),
    Item {
        marker: String,
        lines: Vec<String>,
        starts_list: bool,
    },
}

/// A fenced code block still collecting lines.
struct OpenFence {
    lang: Option<String>,
    lines: Vec<String>,
}

#[derive(Default)]
struct BlockParser {
    blocks: Vec<Block>,
    open: Option<OpenBlock>,
    fence: Option<OpenFence>,
    in_list: bool,
}

fn parse_blocks(text: &str) -> Vec<Block> {
    let mut parser = BlockParser::default();
    for line in text.lines() {
        parser.line(line);
    }
    parser.close_fence();
    parser.flush();
    parser.blocks
}

impl BlockParser {
    fn line(&mut self, line: &str) {
        if self.fence.is_some() {
            self.fence_line(line);
            return;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            self.flush();
            self.in_list = false;
        } else if let Some(fence) = fence_opener(trimmed) {
            self.flush();
            self.in_list = false;
            self.fence = Some(fence);
        } else if let Some((marker, rest)) = list_item(trimmed) {
            self.flush();
            self.open = Some(OpenBlock::Item {
                marker,
                lines: vec![rest.to_string()],
                starts_list: !self.in_list,
            });
            self.in_list = true;
        } else {
            self.continue_text(trimmed);
        }
    }

    /// A plain line continues the open paragraph or list item (lazy continuation).
    fn continue_text(&mut self, trimmed: &str) {
        match &mut self.open {
            Some(OpenBlock::Paragraph(lines) | OpenBlock::Item { lines, .. }) => {
                lines.push(trimmed.to_string());
            }
            None => {
                self.open = Some(OpenBlock::Paragraph(vec![trimmed.to_string()]));
                self.in_list = false;
            }
        }
    }

    fn fence_line(&mut self, line: &str) {
        if line.trim() == "```" {
            self.close_fence();
        } else if let Some(fence) = &mut self.fence {
            fence.lines.push(line.to_string());
        }
    }

    fn close_fence(&mut self) {
        if let Some(fence) = self.fence.take() {
            self.blocks.push(Block::Code {
                lang: fence.lang,
                content: fence.lines.join("\n"),
            });
        }
    }

    fn flush(&mut self) {
        match self.open.take() {
            Some(OpenBlock::Paragraph(lines)) => {
                self.blocks.push(Block::Paragraph(lines.join("\n")));
            }
            Some(OpenBlock::Item {
                marker,
                lines,
                starts_list,
            }) => self.blocks.push(Block::ListItem {
                marker,
                text: lines.join("\n"),
                starts_list,
            }),
            None => {}
        }
    }
}

/// A new fenced code block when the (trimmed) line opens one.
fn fence_opener(trimmed: &str) -> Option<OpenFence> {
    let info = trimmed.strip_prefix("```")?;
    if info.contains('`') {
        return None; // ```code``` on one line is an inline code span
    }
    Some(OpenFence {
        lang: fence_language(info),
        lines: Vec::new(),
    })
}

fn fence_language(info: &str) -> Option<String> {
    let word = info.split_whitespace().next()?;
    let safe = |c: char| c.is_ascii_alphanumeric() || "+-_.#".contains(c);
    (word.len() <= 32 && word.chars().all(safe)).then(|| word.to_string())
}

/// The rendered marker and the item text when the (trimmed) line is a list item.
fn list_item(trimmed: &str) -> Option<(String, &str)> {
    if is_thematic_break(trimmed) {
        return None;
    }
    bullet_item(trimmed).or_else(|| numbered_item(trimmed))
}

fn bullet_item(trimmed: &str) -> Option<(String, &str)> {
    let mut chars = trimmed.chars();
    let marker = chars.next()?;
    let space = chars.next()?;
    if !matches!(marker, '-' | '*' | '+') || !matches!(space, ' ' | '\t') {
        return None;
    }
    let rest = trimmed.get(2..)?.trim();
    (!rest.is_empty()).then(|| ("•".to_string(), rest))
}

fn numbered_item(trimmed: &str) -> Option<(String, &str)> {
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    if !(1..=9).contains(&digits) {
        return None;
    }
    let (number, after) = (trimmed.get(..digits)?, trimmed.get(digits..)?);
    let mut chars = after.chars();
    let delimiter = chars.next()?;
    let space = chars.next()?;
    if !matches!(delimiter, '.' | ')') || !matches!(space, ' ' | '\t') {
        return None;
    }
    let rest = after.get(2..)?.trim();
    (!rest.is_empty()).then(|| (format!("{number}."), rest))
}

/// `---`, `* * *`, `___`: a horizontal rule (outside the subset, kept as literal text).
fn is_thematic_break(trimmed: &str) -> bool {
    let marks: Vec<char> = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    let first = marks.first().copied();
    marks.len() >= 3
        && matches!(first, Some('-' | '*' | '_'))
        && marks.iter().all(|&c| Some(c) == first)
}

// ---------------------------------------------------------------------------------------------
// Inline parsing
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Emphasis {
    Bold,
    Italic,
}

/// Inline content of a paragraph or list item.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Inline {
    Text(String),
    Code(String),
    Styled(Emphasis, Vec<Inline>),
    Link { label: Vec<Inline>, url: String },
}

/// A run of `*` or `_`, matched CommonMark-style into emphasis.
#[derive(Debug)]
struct DelimiterRun {
    ch: char,
    remaining: usize,
    can_open: bool,
    can_close: bool,
    /// Emphasis opened right after the literal leftover, outermost first.
    opens: Vec<Emphasis>,
    /// Emphasis closed at the start of the run, innermost first.
    closes: Vec<Emphasis>,
}

#[derive(Debug)]
enum Token {
    Text(String),
    Code(String),
    Link { label: Vec<Inline>, url: String },
    Delimiters(DelimiterRun),
}

/// Labels of links longer than this are not considered links (keeps parsing linear).
const MAX_LINK_SCAN: usize = 2048;

fn parse_inlines(text: &str, allow_links: bool) -> Vec<Inline> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = tokenize(&chars, allow_links);
    match_emphasis(&mut tokens);
    build_tree(tokens)
}

fn tokenize(chars: &[char], allow_links: bool) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let escaped = chars
            .get(i + 1)
            .copied()
            .filter(|&e| c == '\\' && is_escapable(e));
        let (token, next) = match c {
            _ if escaped.is_some() => (Token::Text(escaped.into_iter().collect()), i + 2),
            '`' => code_span(chars, i),
            '*' | '_' => delimiter_run(chars, i, c),
            '!' if chars.get(i + 1) == Some(&'[') => image_literal(chars, i),
            '[' if allow_links => link(chars, i),
            _ => (Token::Text(c.to_string()), i + 1),
        };
        push_token(&mut tokens, token);
        i = next.max(i + 1);
    }
    tokens
}

/// `\*`, `\_`, `` \` ``, `\[`, `\]` stand for the literal character (`CommonMark` escapes, limited
/// to the subset's own markers so that paths like `C:\dir` stay untouched).
fn is_escapable(c: char) -> bool {
    matches!(c, '*' | '_' | '`' | '[' | ']')
}

fn push_token(tokens: &mut Vec<Token>, token: Token) {
    if let (Some(Token::Text(last)), Token::Text(more)) = (tokens.last_mut(), &token) {
        last.push_str(more);
        return;
    }
    tokens.push(token);
}

fn collect_chars(chars: &[char], from: usize, to: usize) -> String {
    chars.get(from..to).unwrap_or_default().iter().collect()
}

fn run_length(chars: &[char], start: usize, ch: char) -> usize {
    chars.iter().skip(start).take_while(|&&c| c == ch).count()
}

/// A backtick run opens a code span closed by the next run of the same length.
fn code_span(chars: &[char], start: usize) -> (Token, usize) {
    let ticks = run_length(chars, start, '`');
    let mut j = start + ticks;
    while j < chars.len() {
        let run = run_length(chars, j, '`');
        if run == ticks {
            return (Token::Code(collect_chars(chars, start + ticks, j)), j + run);
        }
        j += run.max(1);
    }
    (Token::Text("`".repeat(ticks)), start + ticks)
}

fn delimiter_run(chars: &[char], start: usize, ch: char) -> (Token, usize) {
    let count = run_length(chars, start, ch);
    let before = start.checked_sub(1).and_then(|p| chars.get(p)).copied();
    let after = chars.get(start + count).copied();
    let left = is_left_flanking(before, after);
    let right = is_right_flanking(before, after);
    let (can_open, can_close) = if ch == '_' {
        // Intraword underscores (snake_case_name) neither open nor close.
        (
            left && (!right || before.is_some_and(is_punctuation)),
            right && (!left || after.is_some_and(is_punctuation)),
        )
    } else {
        (left, right)
    };
    let run = DelimiterRun {
        ch,
        remaining: count,
        can_open,
        can_close,
        opens: Vec::new(),
        closes: Vec::new(),
    };
    (Token::Delimiters(run), start + count)
}

fn is_punctuation(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace()
}

fn is_left_flanking(before: Option<char>, after: Option<char>) -> bool {
    match after {
        None => false,
        Some(a) if a.is_whitespace() => false,
        Some(a) => {
            !is_punctuation(a) || before.is_none_or(|b| b.is_whitespace() || is_punctuation(b))
        }
    }
}

fn is_right_flanking(before: Option<char>, after: Option<char>) -> bool {
    match before {
        None => false,
        Some(b) if b.is_whitespace() => false,
        Some(b) => {
            !is_punctuation(b) || after.is_none_or(|a| a.is_whitespace() || is_punctuation(a))
        }
    }
}

/// `[label](url)` pieces found by syntax alone, before the URL is vetted.
struct LinkSyntax {
    label: String,
    url: String,
    end: usize,
}

fn link_syntax(chars: &[char], open: usize) -> Option<LinkSyntax> {
    let close = matching_bracket(chars, open, '[', ']')?;
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let paren = matching_bracket(chars, close + 1, '(', ')')?;
    let url = collect_chars(chars, close + 2, paren);
    if url.chars().any(char::is_whitespace) {
        return None;
    }
    Some(LinkSyntax {
        label: collect_chars(chars, open + 1, close),
        url,
        end: paren + 1,
    })
}

/// Index of the bracket closing the one at `open`, nesting allowed, within a bounded scan.
fn matching_bracket(chars: &[char], open: usize, opener: char, closer: char) -> Option<usize> {
    let mut depth = 0usize;
    for (k, &c) in chars.iter().enumerate().skip(open).take(MAX_LINK_SCAN) {
        if c == opener {
            depth += 1;
        } else if c == closer {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(k);
            }
        } else if opener == '(' && c.is_whitespace() {
            return None;
        }
    }
    None
}

fn is_allowed_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let ok_scheme = ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len());
    ok_scheme && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn link(chars: &[char], start: usize) -> (Token, usize) {
    match link_syntax(chars, start) {
        Some(syntax) if is_allowed_url(&syntax.url) => {
            let label = parse_inlines(&syntax.label, false);
            (
                Token::Link {
                    label,
                    url: syntax.url,
                },
                syntax.end,
            )
        }
        Some(syntax) => (
            Token::Text(collect_chars(chars, start, syntax.end)),
            syntax.end,
        ),
        None => (Token::Text("[".to_string()), start + 1),
    }
}

/// Images are outside the subset: `![alt](src)` stays literal text as a whole.
fn image_literal(chars: &[char], start: usize) -> (Token, usize) {
    match link_syntax(chars, start + 1) {
        Some(syntax) => (
            Token::Text(collect_chars(chars, start, syntax.end)),
            syntax.end,
        ),
        None => (Token::Text("!".to_string()), start + 1),
    }
}

fn remaining(tokens: &[Token], index: usize) -> usize {
    match tokens.get(index) {
        Some(Token::Delimiters(run)) => run.remaining,
        _ => 0,
    }
}

fn run_char(tokens: &[Token], index: usize) -> Option<char> {
    match tokens.get(index) {
        Some(Token::Delimiters(run)) => Some(run.ch),
        _ => None,
    }
}

/// Pairs delimiter runs into emphasis (a simplified version of `CommonMark`'s "process emphasis").
fn match_emphasis(tokens: &mut [Token]) {
    let mut openers: Vec<usize> = Vec::new();
    let mut bottoms = [0usize; 2];
    for index in 0..tokens.len() {
        let Some(Token::Delimiters(run)) = tokens.get(index) else {
            continue;
        };
        let (ch, can_open, can_close) = (run.ch, run.can_open, run.can_close);
        if can_close {
            close_emphasis(tokens, index, ch, &mut openers, &mut bottoms);
        }
        if can_open && remaining(tokens, index) > 0 {
            openers.push(index);
        }
    }
}

fn close_emphasis(
    tokens: &mut [Token],
    closer: usize,
    ch: char,
    openers: &mut Vec<usize>,
    bottoms: &mut [usize; 2],
) {
    let slot = usize::from(ch == '_');
    while remaining(tokens, closer) > 0 {
        let bottom = bottoms.get(slot).copied().unwrap_or(0).min(openers.len());
        let found = (bottom..openers.len()).rev().find(|&p| {
            openers
                .get(p)
                .is_some_and(|&o| run_char(tokens, o) == Some(ch) && remaining(tokens, o) > 0)
        });
        let Some((position, opener)) = found.and_then(|p| openers.get(p).map(|&o| (p, o))) else {
            if let Some(b) = bottoms.get_mut(slot) {
                *b = openers.len();
            }
            return;
        };
        pair_delimiters(tokens, opener, closer);
        // Unmatched delimiters between the pair can no longer match: they stay literal.
        openers.truncate(position + 1);
        if remaining(tokens, opener) == 0 {
            openers.pop();
        }
        for b in bottoms.iter_mut() {
            *b = (*b).min(openers.len());
        }
    }
}

fn pair_delimiters(tokens: &mut [Token], opener: usize, closer: usize) {
    let strong = remaining(tokens, opener) >= 2 && remaining(tokens, closer) >= 2;
    let (used, emphasis) = if strong {
        (2, Emphasis::Bold)
    } else {
        (1, Emphasis::Italic)
    };
    if let Some(Token::Delimiters(run)) = tokens.get_mut(opener) {
        run.remaining = run.remaining.saturating_sub(used);
        run.opens.insert(0, emphasis);
    }
    if let Some(Token::Delimiters(run)) = tokens.get_mut(closer) {
        run.remaining = run.remaining.saturating_sub(used);
        run.closes.push(emphasis);
    }
}

/// Frames of the tree under construction: the emphasis they stand for and their children.
type Frames = Vec<(Option<Emphasis>, Vec<Inline>)>;

fn build_tree(tokens: Vec<Token>) -> Vec<Inline> {
    let mut frames: Frames = vec![(None, Vec::new())];
    for token in tokens {
        match token {
            Token::Text(text) => push_inline(&mut frames, Inline::Text(text)),
            Token::Code(code) => push_inline(&mut frames, Inline::Code(code)),
            Token::Link { label, url } => push_inline(&mut frames, Inline::Link { label, url }),
            Token::Delimiters(run) => push_delimiters(&mut frames, run),
        }
    }
    while frames.len() > 1 {
        close_frame(&mut frames);
    }
    frames
        .pop()
        .map(|(_, children)| children)
        .unwrap_or_default()
}

fn push_delimiters(frames: &mut Frames, run: DelimiterRun) {
    for _ in &run.closes {
        close_frame(frames);
    }
    if run.remaining > 0 {
        push_inline(
            frames,
            Inline::Text(run.ch.to_string().repeat(run.remaining)),
        );
    }
    for emphasis in run.opens {
        frames.push((Some(emphasis), Vec::new()));
    }
}

/// Adds a node to the innermost frame; adjacent text is merged (so a URL is one text node even
/// when it holds a delimiter that matched nothing).
fn push_inline(frames: &mut Frames, node: Inline) {
    let Some((_, children)) = frames.last_mut() else {
        return;
    };
    match (children.last_mut(), node) {
        (Some(Inline::Text(last)), Inline::Text(more)) => last.push_str(&more),
        (_, node) => children.push(node),
    }
}

fn close_frame(frames: &mut Frames) {
    if frames.len() < 2 {
        return;
    }
    if let Some((emphasis, children)) = frames.pop() {
        match emphasis {
            Some(emphasis) => push_inline(frames, Inline::Styled(emphasis, children)),
            None => children.into_iter().for_each(|c| push_inline(frames, c)),
        }
    }
}

fn plain_text(nodes: &[Inline]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node {
            Inline::Text(text) | Inline::Code(text) => out.push_str(text),
            Inline::Styled(_, children)
            | Inline::Link {
                label: children, ..
            } => {
                out.push_str(&plain_text(children));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Atoms: rendered characters with the markup that surrounds them
// ---------------------------------------------------------------------------------------------

/// Markup around a run of atoms; opened and closed as a well-nested stack.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tag {
    Bold,
    Italic,
    Code,
    Link(String),
    Pre(Option<String>),
}

fn open_tag(format: Format, tag: &Tag) -> String {
    match format {
        Format::Plain(_) => String::new(),
        Format::TelegramHtml => telegram_open_tag(format, tag),
        Format::SlackMrkdwn => slack_open_tag(format, tag),
        Format::WhatsApp => whatsapp_marker(tag).to_string(),
        Format::Discord => discord_open_tag(tag),
    }
}

fn telegram_open_tag(format: Format, tag: &Tag) -> String {
    match tag {
        Tag::Bold => "<b>".to_string(),
        Tag::Italic => "<i>".to_string(),
        Tag::Code => "<code>".to_string(),
        Tag::Link(url) => format!("<a href=\"{}\">", format.escape_url(url)),
        Tag::Pre(None) => "<pre>".to_string(),
        Tag::Pre(Some(lang)) => format!("<pre><code class=\"language-{lang}\">"),
    }
}

fn slack_open_tag(format: Format, tag: &Tag) -> String {
    match tag {
        Tag::Bold => "*".to_string(),
        Tag::Italic => "_".to_string(),
        Tag::Code => "`".to_string(),
        Tag::Link(url) => format!("<{}|", format.escape_url(url)),
        Tag::Pre(_) => "```\n".to_string(),
    }
}

/// WhatsApp markers are the same on both sides; links are plain text there.
fn whatsapp_marker(tag: &Tag) -> &'static str {
    match tag {
        Tag::Bold => "*",
        Tag::Italic => "_",
        Tag::Code => "`",
        Tag::Pre(_) => "```",
        Tag::Link(_) => "",
    }
}

fn discord_open_tag(tag: &Tag) -> String {
    match tag {
        Tag::Bold => "**".to_string(),
        Tag::Italic => "*".to_string(),
        Tag::Code => "`".to_string(),
        Tag::Link(_) => "[".to_string(),
        Tag::Pre(lang) => format!("```{}\n", lang.as_deref().unwrap_or_default()),
    }
}

fn close_tag(format: Format, tag: &Tag) -> Cow<'static, str> {
    match (format, tag) {
        (Format::Plain(_), _) => "".into(),
        (Format::TelegramHtml, Tag::Bold) => "</b>".into(),
        (Format::TelegramHtml, Tag::Italic) => "</i>".into(),
        (Format::TelegramHtml, Tag::Code) => "</code>".into(),
        (Format::TelegramHtml, Tag::Link(_)) => "</a>".into(),
        (Format::TelegramHtml, Tag::Pre(None)) => "</pre>".into(),
        (Format::TelegramHtml, Tag::Pre(Some(_))) => "</code></pre>".into(),
        (Format::SlackMrkdwn, Tag::Bold) => "*".into(),
        (Format::SlackMrkdwn, Tag::Italic) => "_".into(),
        (Format::SlackMrkdwn, Tag::Code) => "`".into(),
        (Format::SlackMrkdwn, Tag::Link(_)) => ">".into(),
        (Format::SlackMrkdwn, Tag::Pre(_)) => "\n```".into(),
        (Format::WhatsApp, _) => whatsapp_marker(tag).into(),
        (Format::Discord, Tag::Bold) => "**".into(),
        (Format::Discord, Tag::Italic) => "*".into(),
        (Format::Discord, Tag::Code) => "`".into(),
        (Format::Discord, Tag::Link(url)) => format!("](<{}>)", format.escape_url(url)).into(),
        (Format::Discord, Tag::Pre(_)) => "\n```".into(),
    }
}

fn is_code(stack: &[Tag]) -> bool {
    stack.iter().any(|t| matches!(t, Tag::Code | Tag::Pre(_)))
}

/// A character as rendered inside its markup: Discord leaves code unescaped; every other
/// format escapes the same everywhere.
fn push_char_in_markup(format: Format, ch: char, in_code: bool, out: &mut String) {
    if format == Format::Discord && in_code {
        out.push(ch);
    } else {
        push_escaped_char(format, ch, out);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AtomKind {
    /// List marker: never a split point.
    Marker,
    Text,
    /// Content of a fenced code block: split at line ends only.
    CodeBlock,
}

/// One source character (or, for Discord, a whole bare URL) as rendered (`&` may become
/// `&amp;`), with its markup stack.
#[derive(Debug, Clone)]
struct Atom {
    ch: char,
    out: String,
    len: usize,
    /// The character as rendered in a part sent without formatting: escaped as literal text.
    bare: String,
    bare_len: usize,
    stack: Rc<[Tag]>,
    kind: AtomKind,
}

impl Atom {
    fn new(format: Format, ch: char, stack: Rc<[Tag]>, kind: AtomKind) -> Self {
        let mut out = String::new();
        push_char_in_markup(format, ch, is_code(&stack), &mut out);
        let mut bare = String::new();
        push_escaped_char(format, ch, &mut bare);
        Atom {
            ch,
            len: format.length(&out),
            out,
            bare_len: format.length(&bare),
            bare,
            stack,
            kind,
        }
    }

    /// A bare URL as one atom (Discord): `<url>` inside markup, so that it is neither escaped
    /// nor embedded, and escaped text without markup.
    fn whole_url(format: Format, url: &str, stack: Rc<[Tag]>) -> Self {
        let out = format!("<{}>", format.escape_url(url));
        let bare = format.escape_text(url);
        Atom {
            ch: url.chars().next().unwrap_or('<'),
            len: format.length(&out),
            out,
            bare_len: format.length(&bare),
            bare,
            stack,
            kind: AtomKind::Text,
        }
    }

    fn is_space(&self) -> bool {
        self.ch.is_whitespace()
    }

    /// The rendering inside its markup (`tagged`) or without it, and its length.
    fn rendered(&self, tagged: bool) -> (&str, usize) {
        if tagged {
            (&self.out, self.len)
        } else {
            (&self.bare, self.bare_len)
        }
    }

    fn append_zero_width_space(&mut self, format: Format) {
        self.out.push(ZERO_WIDTH_SPACE);
        self.len = format.length(&self.out);
    }

    /// Makes the `@` of a mass mention inert with a zero-width space after it; inside code only
    /// the bare rendering (used without markup) changes.
    fn guard_mass_mention(&mut self, format: Format) {
        if !is_code(&self.stack) {
            self.append_zero_width_space(format);
        }
        self.bare.push(ZERO_WIDTH_SPACE);
        self.bare_len = format.length(&self.bare);
    }
}

/// Discord `@everyone` and `@here` outside code get their `@` guarded (see `Atom`).
fn guard_mass_mentions(format: Format, atoms: &mut [Atom]) {
    if format != Format::Discord {
        return;
    }
    for index in 0..atoms.len() {
        let is_mention = atom_char(atoms, index) == Some('@')
            && starts_with_mass_mention(tail(atoms, index + 1).iter().map(|a| a.ch));
        if let Some(atom) = atoms.get_mut(index).filter(|_| is_mention) {
            atom.guard_mass_mention(format);
        }
    }
}

/// Discord and WhatsApp code blocks have no escapes: a zero-width space after every backtick
/// that another follows keeps ```` ``` ```` in the content from closing the block early.
fn break_backtick_runs(format: Format, atoms: &mut [Atom]) {
    if !format.breaks_backtick_runs() {
        return;
    }
    for index in 0..atoms.len() {
        let run_goes_on = atom_char(atoms, index + 1) == Some('`');
        if let Some(atom) = atoms.get_mut(index) {
            if atom.kind == AtomKind::CodeBlock && atom.ch == '`' && run_goes_on {
                atom.append_zero_width_space(format);
            }
        }
    }
}

/// Flattens inline trees into atoms for one format.
struct Lowerer {
    format: Format,
    /// The part limit: a bare URL is kept whole only when it fits a part on its own.
    limit: usize,
    stack: Vec<Tag>,
    atoms: Vec<Atom>,
    in_link: bool,
}

impl Lowerer {
    fn new(format: Format, limit: usize) -> Self {
        Lowerer {
            format,
            limit,
            stack: Vec::new(),
            atoms: Vec::new(),
            in_link: false,
        }
    }

    /// The atoms, with the fixes that depend on neighbouring characters applied.
    fn into_atoms(mut self) -> Vec<Atom> {
        guard_mass_mentions(self.format, &mut self.atoms);
        break_backtick_runs(self.format, &mut self.atoms);
        self.atoms
    }

    fn text(&mut self, text: &str, kind: AtomKind) {
        if self.wraps_bare_urls(kind) {
            self.text_with_bare_urls(text);
        } else {
            self.push_atoms(text, kind);
        }
    }

    /// Discord escaping would break bare URLs in text, so they are wrapped as `<url>` instead.
    fn wraps_bare_urls(&self, kind: AtomKind) -> bool {
        self.format == Format::Discord
            && kind == AtomKind::Text
            && !self.in_link
            && !is_code(&self.stack)
    }

    fn text_with_bare_urls(&mut self, text: &str) {
        let mut done = 0;
        for (start, end) in bare_urls(text) {
            self.push_atoms(text.get(done..start).unwrap_or_default(), AtomKind::Text);
            let url = text.get(start..end).unwrap_or_default();
            if !self.push_url_atom(url) {
                self.push_atoms(url, AtomKind::Text);
            }
            done = end;
        }
        self.push_atoms(text.get(done..).unwrap_or_default(), AtomKind::Text);
    }

    /// Pushes `url` as one atom (see `Atom::whole_url`) when it fits a part on its own, with
    /// its markup and without; returns whether it did.
    fn push_url_atom(&mut self, url: &str) -> bool {
        let atom = Atom::whole_url(self.format, url, Rc::from(self.stack.as_slice()));
        let markup = transition_length(self.format, &[], &atom.stack)
            .saturating_add(closing_length(self.format, &atom.stack));
        let fits = markup.saturating_add(atom.len) <= self.limit && atom.bare_len <= self.limit;
        if fits {
            self.atoms.push(atom);
        }
        fits
    }

    fn push_atoms(&mut self, text: &str, kind: AtomKind) {
        let stack: Rc<[Tag]> = Rc::from(self.stack.as_slice());
        let line_break_stack = self.line_break_stack();
        for ch in text.chars() {
            let stack = match &line_break_stack {
                Some(outside) if ch == '\n' && kind != AtomKind::CodeBlock => Rc::clone(outside),
                _ => Rc::clone(&stack),
            };
            self.atoms.push(Atom::new(self.format, ch, stack, kind));
        }
    }

    /// Slack and WhatsApp emphasis and inline code do not span lines: line breaks get a stack
    /// without them, so the markers are closed before a newline and reopened after it.
    fn line_break_stack(&self) -> Option<Rc<[Tag]>> {
        if !self.format.closes_styles_at_line_breaks() {
            return None;
        }
        let is_inline_style = |t: &&Tag| matches!(t, Tag::Bold | Tag::Italic | Tag::Code);
        let kept: Vec<Tag> = self
            .stack
            .iter()
            .filter(|t| !is_inline_style(t))
            .cloned()
            .collect();
        Some(Rc::from(kept))
    }

    fn with_tag(&mut self, tag: Option<Tag>, body: impl FnOnce(&mut Self)) {
        let pushed = tag.is_some();
        self.stack.extend(tag);
        body(self);
        if pushed {
            self.stack.pop();
        }
    }

    fn inlines(&mut self, nodes: &[Inline]) {
        for node in nodes {
            match node {
                Inline::Text(text) => self.text(text, AtomKind::Text),
                Inline::Code(code) => self.code_span(code),
                Inline::Styled(emphasis, children) => self.styled(*emphasis, children),
                Inline::Link { label, url } => self.link(label, url),
            }
        }
    }

    /// Telegram cannot nest code in links; Slack and Discord link labels are unformatted;
    /// WhatsApp and Discord drop a style nested in itself (its marker would close it).
    fn allows_formatting(&self, tag: &Tag) -> bool {
        if self.format.merges_nested_styles() && self.stack.contains(tag) {
            return false;
        }
        match self.format {
            Format::Plain(_) => false,
            Format::TelegramHtml => !(self.in_link && *tag == Tag::Code),
            Format::SlackMrkdwn | Format::Discord => !self.in_link,
            Format::WhatsApp => true,
        }
    }

    fn code_span(&mut self, code: &str) {
        let holds = self.format.code_spans_hold_backticks() || !code.contains('`');
        let tag = Some(Tag::Code).filter(|t| holds && self.allows_formatting(t));
        self.with_tag(tag, |l| l.text(code, AtomKind::Text));
    }

    fn styled(&mut self, emphasis: Emphasis, children: &[Inline]) {
        let tag = match emphasis {
            Emphasis::Bold => Tag::Bold,
            Emphasis::Italic => Tag::Italic,
        };
        let tag = Some(tag).filter(|t| self.allows_formatting(t));
        self.with_tag(tag, |l| l.inlines(children));
    }

    fn link(&mut self, label: &[Inline], url: &str) {
        let shown = plain_text(label);
        let label_is_url = shown.trim().is_empty() || shown.trim() == url;
        match self.format {
            Format::Plain(_) | Format::WhatsApp => self.plain_link(label, url, label_is_url),
            Format::Discord if label_is_url => {
                if !self.push_url_atom(url) {
                    self.markup_link(label, url, label_is_url);
                }
            }
            _ => self.markup_link(label, url, label_is_url),
        }
    }

    fn markup_link(&mut self, label: &[Inline], url: &str, label_is_url: bool) {
        self.in_link = true;
        self.with_tag(Some(Tag::Link(url.to_string())), |l| {
            if label_is_url {
                l.text(url, AtomKind::Text);
            } else {
                l.inlines(label);
            }
        });
        self.in_link = false;
    }

    fn plain_link(&mut self, label: &[Inline], url: &str, label_is_url: bool) {
        if !label_is_url {
            self.inlines(label);
            self.text(" (", AtomKind::Text);
        }
        self.text(url, AtomKind::Text);
        if !label_is_url {
            self.text(")", AtomKind::Text);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bare URLs (Discord)
// ---------------------------------------------------------------------------------------------

/// Byte ranges of bare `http://` and `https://` URLs in `text`: from a scheme not preceded by a
/// letter or digit up to whitespace, `<`, `>`, `` ` `` or `"`, without trailing punctuation.
fn bare_urls(text: &str) -> Vec<(usize, usize)> {
    let mut urls = Vec::new();
    let mut from = 0;
    while let Some(start) = next_url_start(text, from) {
        let end = url_end(text, start);
        if is_allowed_url(text.get(start..end).unwrap_or_default()) {
            urls.push((start, end));
        }
        from = end.max(start + 1);
    }
    urls
}

fn next_url_start(text: &str, from: usize) -> Option<usize> {
    let mut previous = text.get(..from)?.chars().next_back();
    for (offset, ch) in text.get(from..)?.char_indices() {
        let at = from + offset;
        let after_word = previous.is_some_and(char::is_alphanumeric);
        if !after_word && has_http_scheme(text.get(at..).unwrap_or_default()) {
            return Some(at);
        }
        previous = Some(ch);
    }
    None
}

fn has_http_scheme(rest: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        rest.get(..scheme.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
    })
}

fn url_end(text: &str, start: usize) -> usize {
    let rest = text.get(start..).unwrap_or_default();
    let stop = |c: char| c.is_whitespace() || "<>`\"".contains(c);
    let run = rest.find(stop).unwrap_or(rest.len());
    start + trim_url_end(rest.get(..run).unwrap_or_default()).len()
}

/// `url` without the trailing punctuation that more likely belongs to the sentence:
/// `.,:;!?'*_~|`, and `)` or `]` that has no partner inside the URL.
fn trim_url_end(url: &str) -> &str {
    let count = |c: char| url.matches(c).count();
    let (parens_open, mut parens_closed) = (count('('), count(')'));
    let (brackets_open, mut brackets_closed) = (count('['), count(']'));
    let mut end = url.len();
    for (index, ch) in url.char_indices().rev() {
        let trailing = match ch {
            ')' => parens_closed > parens_open,
            ']' => brackets_closed > brackets_open,
            _ => ".,:;!?'*_~|".contains(ch),
        };
        if !trailing {
            break;
        }
        match ch {
            ')' => parens_closed -= 1,
            ']' => brackets_closed -= 1,
            _ => {}
        }
        end = index;
    }
    url.get(..end).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Units: the pieces between which parts are preferably split
// ---------------------------------------------------------------------------------------------

/// A paragraph, list item or code block, rendered as atoms.
struct Unit {
    /// What joins this unit to the previous one inside a part.
    separator: &'static str,
    atoms: Vec<Atom>,
    is_code_block: bool,
}

fn build_units(blocks: &[Block], format: Format, limit: usize) -> Vec<Unit> {
    blocks
        .iter()
        .filter_map(|block| build_unit(block, format, limit))
        .collect()
}

fn build_unit(block: &Block, format: Format, limit: usize) -> Option<Unit> {
    let (separator, atoms) = match block {
        Block::Paragraph(text) => ("\n\n", inline_atoms(format, limit, "", text)),
        Block::ListItem {
            marker,
            text,
            starts_list,
        } => {
            let separator = if *starts_list { "\n\n" } else { "\n" };
            (separator, inline_atoms(format, limit, marker, text))
        }
        Block::Code { lang, content } => (
            "\n\n",
            code_block_atoms(format, limit, lang.as_deref(), content),
        ),
    };
    let is_code_block = matches!(block, Block::Code { .. });
    atoms.iter().any(|a| !a.is_space()).then_some(Unit {
        separator,
        atoms,
        is_code_block,
    })
}

fn inline_atoms(format: Format, limit: usize, marker: &str, text: &str) -> Vec<Atom> {
    let mut lowerer = Lowerer::new(format, limit);
    if !marker.is_empty() {
        lowerer.text(list_marker(format, marker), AtomKind::Marker);
        lowerer.text(" ", AtomKind::Marker);
    }
    lowerer.inlines(&parse_inlines(text, true));
    trim_atoms(lowerer.into_atoms())
}

/// Discord shows a bullet list for `-` items; the other formats get a literal `•`.
fn list_marker(format: Format, marker: &str) -> &str {
    if format == Format::Discord && marker == "•" {
        "-"
    } else {
        marker
    }
}

fn trim_atoms(mut atoms: Vec<Atom>) -> Vec<Atom> {
    while atoms.last().is_some_and(Atom::is_space) {
        atoms.pop();
    }
    let leading = atoms.iter().take_while(|a| a.is_space()).count();
    atoms.drain(..leading);
    atoms
}

fn code_block_atoms(format: Format, limit: usize, lang: Option<&str>, content: &str) -> Vec<Atom> {
    let mut lowerer = Lowerer::new(format, limit);
    lowerer.stack.push(Tag::Pre(lang.map(str::to_string)));
    lowerer.text(trim_blank_lines(content), AtomKind::CodeBlock);
    lowerer.into_atoms()
}

/// Drops blank lines before the first line with content and trailing whitespace; indentation of
/// the first line is kept.
fn trim_blank_lines(content: &str) -> &str {
    let content = content.trim_end();
    let mut start = 0;
    for line in content.split_inclusive('\n') {
        if !line.trim().is_empty() {
            break;
        }
        start += line.len();
    }
    content.get(start..).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Rendering and measuring atoms
// ---------------------------------------------------------------------------------------------

fn tail<T>(items: &[T], from: usize) -> &[T] {
    items.get(from..).unwrap_or_default()
}

fn common_prefix(a: &[Tag], b: &[Tag]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn stack_of(atom: &Atom, tagged: bool) -> &[Tag] {
    if tagged {
        &atom.stack
    } else {
        &[]
    }
}

fn push_transition(format: Format, from: &[Tag], to: &[Tag], out: &mut String) {
    let common = common_prefix(from, to);
    for tag in tail(from, common).iter().rev() {
        out.push_str(&close_tag(format, tag));
    }
    for tag in tail(to, common) {
        out.push_str(&open_tag(format, tag));
    }
}

fn closing_length(format: Format, stack: &[Tag]) -> usize {
    stack
        .iter()
        .map(|t| format.length(&close_tag(format, t)))
        .sum()
}

fn transition_length(format: Format, from: &[Tag], to: &[Tag]) -> usize {
    let common = common_prefix(from, to);
    let opening: usize = tail(to, common)
        .iter()
        .map(|t| format.length(&open_tag(format, t)))
        .sum();
    closing_length(format, tail(from, common)) + opening
}

/// Renders atoms as one well-formed piece: markup opened where needed and all closed at the end.
fn render_atoms(atoms: &[Atom], format: Format, tagged: bool) -> String {
    let mut out = String::new();
    let mut open: &[Tag] = &[];
    for atom in atoms {
        let next = stack_of(atom, tagged);
        push_transition(format, open, next, &mut out);
        out.push_str(atom.rendered(tagged).0);
        open = next;
    }
    push_transition(format, open, &[], &mut out);
    out
}

/// End (exclusive) of the longest run of atoms from `start` whose rendering fits in `limit`.
fn fitting_end(atoms: &[Atom], start: usize, format: Format, limit: usize, tagged: bool) -> usize {
    let mut used = 0usize;
    let mut open: &[Tag] = &[];
    let mut end = start;
    for atom in tail(atoms, start) {
        let next = stack_of(atom, tagged);
        let step = transition_length(format, open, next).saturating_add(atom.rendered(tagged).1);
        let total = used
            .saturating_add(step)
            .saturating_add(closing_length(format, next));
        if total > limit {
            break;
        }
        used = used.saturating_add(step);
        open = next;
        end += 1;
    }
    end
}

// ---------------------------------------------------------------------------------------------
// Splitting units into pieces
// ---------------------------------------------------------------------------------------------

/// A run of a unit's atoms rendered as one piece; `next` is where the following piece starts.
struct Piece {
    end: usize,
    next: usize,
    tagged: bool,
}

fn split_unit(unit: &Unit, format: Format, limit: usize) -> Vec<String> {
    let whole = render_atoms(&unit.atoms, format, true);
    if format.length(&whole) <= limit {
        return vec![whole];
    }
    let mut pieces = Vec::new();
    let mut start = skip_split_whitespace(unit, 0);
    while start < unit.atoms.len() {
        let piece = next_piece(unit, start, format, limit);
        let atoms = unit.atoms.get(start..piece.end).unwrap_or_default();
        if atoms.iter().any(|a| !a.is_space()) {
            pieces.push(render_atoms(atoms, format, piece.tagged));
        }
        start = skip_split_whitespace(unit, piece.next.max(start + 1));
    }
    pieces
}

/// Where a piece starting at `start` ends. Formatting is dropped for a piece only when not even
/// one atom fits with it; when not even that fits, one atom is taken anyway (tiny limits).
fn next_piece(unit: &Unit, start: usize, format: Format, limit: usize) -> Piece {
    let atoms = &unit.atoms;
    let with_tags = fitting_end(atoms, start, format, limit, true);
    let (fit, tagged) = if with_tags > start {
        (with_tags, true)
    } else {
        let without = fitting_end(atoms, start, format, limit, false);
        (without.max(start + 1), false)
    };
    if fit >= atoms.len() {
        let end = atoms.len();
        return Piece {
            end,
            next: end,
            tagged,
        };
    }
    let (end, next) = if unit.is_code_block {
        code_break(atoms, start, fit)
    } else {
        text_break(atoms, start, fit)
    };
    Piece { end, next, tagged }
}

fn atom_char(atoms: &[Atom], index: usize) -> Option<char> {
    atoms.get(index).map(|a| a.ch)
}

/// Code blocks split after the last whole line that fits (dropping trailing blank lines), else
/// hard at a character.
fn code_break(atoms: &[Atom], start: usize, fit: usize) -> (usize, usize) {
    (start + 1..=fit)
        .rev()
        .find(|&k| atom_char(atoms, k) == Some('\n'))
        .map_or((fit, fit), |k| (trim_piece_end(atoms, start, k), k + 1))
}

/// Text splits at the last sentence end in the second half of what fits, else at the last
/// whitespace, else hard at a character. The whitespace at the split is dropped.
fn text_break(atoms: &[Atom], start: usize, fit: usize) -> (usize, usize) {
    let half = start + (fit - start) / 2;
    let candidates = || {
        (start + 1..=fit)
            .rev()
            .filter(|&k| is_space_break(atoms, k))
    };
    let sentence = candidates().find(|&k| k >= half && is_sentence_break(atoms, k));
    match sentence.or_else(|| candidates().next()) {
        Some(k) => (trim_piece_end(atoms, start, k), k),
        None => (fit, fit),
    }
}

/// Whitespace at `index` that is not part of a list marker.
fn is_space_break(atoms: &[Atom], index: usize) -> bool {
    let here = atoms.get(index);
    let before = index.checked_sub(1).and_then(|p| atoms.get(p));
    match (before, here) {
        (Some(b), Some(h)) => {
            h.is_space() && b.kind != AtomKind::Marker && h.kind != AtomKind::Marker
        }
        _ => false,
    }
}

/// A line break, or whitespace after `.`, `!` or `?`.
fn is_sentence_break(atoms: &[Atom], index: usize) -> bool {
    let before = index.checked_sub(1).and_then(|p| atom_char(atoms, p));
    atom_char(atoms, index) == Some('\n') || matches!(before, Some('.' | '!' | '?'))
}

fn trim_piece_end(atoms: &[Atom], start: usize, mut end: usize) -> usize {
    while end > start + 1
        && end
            .checked_sub(1)
            .and_then(|p| atoms.get(p))
            .is_some_and(Atom::is_space)
    {
        end -= 1;
    }
    end
}

/// Skips the whitespace at a split point: all of it in text, whole blank lines in code blocks
/// (so the indentation of the next code line is kept).
fn skip_split_whitespace(unit: &Unit, start: usize) -> usize {
    let atoms = &unit.atoms;
    if !unit.is_code_block {
        return start
            + tail(atoms, start)
                .iter()
                .take_while(|a| a.is_space())
                .count();
    }
    let mut start = start;
    loop {
        let first_visible = tail(atoms, start)
            .iter()
            .position(|a| !a.is_space() || a.ch == '\n');
        match first_visible {
            Some(offset) if atom_char(atoms, start + offset) == Some('\n') => start += offset + 1,
            Some(_) => return start,
            None => return atoms.len(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Assembling parts
// ---------------------------------------------------------------------------------------------

/// Collects pieces into parts, joining whole units while they fit.
struct PartBuilder {
    format: Format,
    limit: usize,
    parts: Vec<String>,
    current: String,
    current_len: usize,
}

impl PartBuilder {
    fn new(format: Format, limit: usize) -> Self {
        PartBuilder {
            format,
            limit,
            parts: Vec::new(),
            current: String::new(),
            current_len: 0,
        }
    }

    fn add_unit(&mut self, unit: &Unit) {
        let mut pieces = split_unit(unit, self.format, self.limit);
        if pieces.len() == 1 {
            if let Some(piece) = pieces.pop() {
                self.join_or_start(piece, unit.separator);
            }
            return;
        }
        for piece in pieces {
            self.start_part(piece);
        }
    }

    fn join_or_start(&mut self, piece: String, separator: &str) {
        let piece_len = self.format.length(&piece);
        let joined = self
            .current_len
            .saturating_add(self.format.length(separator))
            .saturating_add(piece_len);
        if !self.current.is_empty() && joined <= self.limit {
            self.current.push_str(separator);
            self.current.push_str(&piece);
            self.current_len = joined;
        } else {
            self.start_part(piece);
        }
    }

    fn start_part(&mut self, piece: String) {
        if !self.current.is_empty() {
            self.parts.push(std::mem::take(&mut self.current));
        }
        self.current_len = self.format.length(&piece);
        self.current = piece;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.current.is_empty() {
            self.parts.push(self.current);
        }
        self.parts
    }
}

#[cfg(test)]
#[path = "markdown_test.rs"]
mod tests;
