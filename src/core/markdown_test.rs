use super::*;

const TG: Format = Format::TelegramHtml;
const SLACK: Format = Format::SlackMrkdwn;
const PLAIN: Format = Format::Plain(Count::Chars);
const WA: Format = Format::WhatsApp;
const DISCORD: Format = Format::Discord;
const ALL: [Format; 3] = [TG, SLACK, PLAIN];
const EVERY: [Format; 5] = [TG, SLACK, PLAIN, WA, DISCORD];
const ZWSP: char = '\u{200B}';

/// Renders with a limit large enough for one part and returns that part.
fn one(text: &str, format: Format) -> String {
    let parts = render_parts(text, format, 100_000);
    assert_eq!(parts.len(), 1, "expected one part for {text:?}: {parts:?}");
    parts.into_iter().next().unwrap()
}

fn parts(text: &str, format: Format, limit: usize) -> Vec<String> {
    let parts = render_parts(text, format, limit);
    assert_parts_valid(&parts, format, limit);
    parts
}

fn assert_parts_valid(parts: &[String], format: Format, limit: usize) {
    for part in parts {
        assert!(!part.trim().is_empty(), "empty part in {parts:?}");
        if limit >= 8 {
            assert!(
                format.length(part) <= limit,
                "part {part:?} is {} > {limit}",
                format.length(part)
            );
        }
        match format {
            Format::TelegramHtml => assert_telegram_well_formed(part),
            Format::SlackMrkdwn => assert_slack_safe(part),
            Format::Discord => {
                discord_visible(part);
            }
            Format::Plain(_) | Format::WhatsApp => {}
        }
    }
}

/// Every tag known, closed and properly nested; every `&` an entity; no stray `>`.
fn assert_telegram_well_formed(part: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = part;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest
                .find('>')
                .unwrap_or_else(|| panic!("unclosed tag in {part:?}"));
            let tag = &rest[1..end];
            assert!(!tag.contains('<'), "bad tag {tag:?} in {part:?}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mis-nested in {part:?}");
            } else {
                let name = tag.split(' ').next().unwrap();
                assert!(
                    ["b", "i", "code", "pre", "a"].contains(&name),
                    "tag {tag:?}"
                );
                if name == "a" {
                    let href = tag
                        .strip_prefix("a href=\"")
                        .and_then(|t| t.strip_suffix('"'));
                    let href = href.unwrap_or_else(|| panic!("bad link tag {tag:?}"));
                    assert!(!href.contains('"'), "quote in href {href:?}");
                }
                if name == "code" && tag != "code" {
                    let class = tag.strip_prefix("code class=\"language-").unwrap();
                    assert!(class.ends_with('"') && !class[..class.len() - 1].contains('"'));
                }
                stack.push(name.to_string());
            }
            if !tag.starts_with('/') && !tag.starts_with("pre") {
                assert!(
                    !rest[end + 1..].starts_with("</"),
                    "empty element in {part:?}"
                );
            }
            rest = &rest[end + 1..];
        } else if c == '&' {
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;"]
                    .iter()
                    .any(|e| rest.starts_with(e)),
                "bare & in {part:?}"
            );
            rest = &rest[1..];
        } else {
            assert_ne!(c, '>', "stray > in {part:?}");
            rest = &rest[c.len_utf8()..];
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?} in {part:?}");
}

/// The only raw `<` in Slack output opens a link we made.
fn assert_slack_safe(part: &str) {
    for (i, _) in part.match_indices('<') {
        let after = &part[i + 1..];
        assert!(
            ["http://", "https://", "mailto:"]
                .iter()
                .any(|s| after.starts_with(s)),
            "raw < in {part:?}"
        );
    }
    for entity in part.match_indices('&').map(|(i, _)| &part[i..]) {
        assert!(
            ["&amp;", "&lt;", "&gt;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "bare & in {part:?}"
        );
    }
}

/// What a Telegram reader sees: tags removed, entities decoded.
fn telegram_visible(part: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in part.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// What a Discord reader sees (escapes resolved; markup, link targets and zero-width spaces
/// dropped), asserting on the way that the markup is well-formed, that every markup character in
/// text is escaped or ours, and that no mass mention is left outside code.
fn discord_visible(part: &str) -> String {
    let mut out = String::new();
    let mut rest = part;
    let mut stars = 0;
    let mut in_label = false;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        rest = match c {
            '\\' => {
                let e = after.chars().next().expect("dangling backslash");
                assert!("\\*_~`|<>#[]".contains(e), "needless \\{e} in {part:?}");
                out.push(e);
                &after[e.len_utf8()..]
            }
            '`' if after.starts_with("``") => {
                let body = &after[2..];
                let end = body
                    .find("```")
                    .unwrap_or_else(|| panic!("open block in {part:?}"));
                let (lang, code) = body[..end].split_once('\n').expect("fence line");
                assert!(
                    code.ends_with('\n'),
                    "block not closed on its own line: {part:?}"
                );
                let lang_ok = |c: char| c.is_ascii_alphanumeric() || "+-_.#".contains(c);
                assert!(lang.chars().all(lang_ok), "bad language in {part:?}");
                out.push_str(code);
                &body[end + 3..]
            }
            '`' => {
                let end = after
                    .find('`')
                    .unwrap_or_else(|| panic!("open code in {part:?}"));
                assert!(end > 0, "empty code in {part:?}");
                out.push_str(&after[..end]);
                &after[end + 1..]
            }
            '*' => {
                stars += 1;
                after
            }
            '[' => {
                assert!(!in_label, "nested [ in {part:?}");
                in_label = true;
                after
            }
            ']' => {
                assert!(in_label, "stray ] in {part:?}");
                in_label = false;
                let target = after.strip_prefix("(<").expect("link target");
                let end = target.find(">)").expect("link target end");
                assert_discord_url(&target[..end], part);
                &target[end + 2..]
            }
            '<' => {
                let end = after
                    .find('>')
                    .unwrap_or_else(|| panic!("open <url> in {part:?}"));
                assert_discord_url(&after[..end], part);
                out.push_str(&percent_decoded(&after[..end]));
                &after[end + 1..]
            }
            '_' | '~' | '|' | '#' | '>' => panic!("unescaped {c:?} in {part:?}"),
            '@' => {
                assert!(!is_mass_mention(after), "mass mention in {part:?}");
                out.push(c);
                after
            }
            _ => {
                out.push(c);
                after
            }
        };
    }
    assert!(!in_label, "open link label in {part:?}");
    assert_eq!(stars % 2, 0, "unbalanced * in {part:?}");
    out.replace(ZWSP, "")
}

fn is_mass_mention(after_at: &str) -> bool {
    let next: String = after_at.chars().take(8).collect::<String>().to_lowercase();
    next.starts_with("everyone") || next.starts_with("here")
}

fn assert_discord_url(url: &str, part: &str) {
    let lower = url.to_ascii_lowercase();
    assert!(
        ["http://", "https://", "mailto:"]
            .iter()
            .any(|s| lower.starts_with(s)),
        "bad url {url:?} in {part:?}"
    );
    assert!(
        !url.chars()
            .any(|c| c.is_whitespace() || "<>()\\".contains(c)),
        "unescaped url {url:?} in {part:?}"
    );
    assert!(!lower.contains("@everyone") && !lower.contains("@here"));
}

fn percent_decoded(url: &str) -> String {
    [
        ("%28", "("),
        ("%29", ")"),
        ("%3C", "<"),
        ("%3E", ">"),
        ("%5C", "\\"),
        ("%40", "@"),
    ]
    .iter()
    .fold(url.to_string(), |s, (from, to)| s.replace(from, to))
}

/// WhatsApp text without whitespace, markers and zero-width spaces (a split only adds markers).
fn whatsapp_visible(part: &str) -> String {
    without_whitespace(part).replace(['*', '_', '`', ZWSP], "")
}

fn without_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Concatenated visible content of the parts equals that of the unsplit rendering (modulo
/// whitespace, which a split may drop).
fn assert_content_kept(text: &str, format: Format, parts: &[String]) {
    let visible = |s: &str| match format {
        Format::TelegramHtml => without_whitespace(&telegram_visible(s)),
        Format::Discord => without_whitespace(&discord_visible(s)),
        Format::WhatsApp => whatsapp_visible(s),
        _ => without_whitespace(s),
    };
    let whole: String = render_parts(text, format, usize::MAX)
        .iter()
        .map(|p| visible(p))
        .collect();
    let split: String = parts.iter().map(|p| visible(p)).collect();
    assert_eq!(split, whole, "content changed for {text:?}: {parts:?}");
}

// ----- length and escaping ------------------------------------------------------------------

#[test]
fn length_counts_utf16_for_telegram_and_chars_otherwise() {
    assert_eq!(TG.length("a😀é"), 4);
    assert_eq!(SLACK.length("a😀é"), 3);
    assert_eq!(PLAIN.length("a😀é"), 3);
    assert_eq!(TG.length("<b>x</b>"), 8);
}

#[test]
fn escape_helpers() {
    assert_eq!(TG.escape_text("a&b<c>\"d"), "a&amp;b&lt;c&gt;\"d");
    assert_eq!(SLACK.escape_text("<!here> & co"), "&lt;!here&gt; &amp; co");
    assert_eq!(PLAIN.escape_text("<&>"), "<&>");
    assert_eq!(
        TG.escape_url("https://x/?a=\"1\"&b=<2>"),
        "https://x/?a=&quot;1&quot;&amp;b=&lt;2&gt;"
    );
    assert_eq!(
        SLACK.escape_url("https://x/a|b<c>&d"),
        "https://x/a%7Cb%3Cc%3E&amp;d"
    );
    assert_eq!(PLAIN.escape_url("https://x/a|b"), "https://x/a|b");
}

#[test]
fn telegram_escapes_text_code_and_blocks() {
    assert_eq!(
        one("a & b < c > d \"q\"", TG),
        "a &amp; b &lt; c &gt; d \"q\""
    );
    assert_eq!(one("`a<b>&c`", TG), "<code>a&lt;b&gt;&amp;c</code>");
    assert_eq!(
        one("```\nif a < b && c > d {}\n```", TG),
        "<pre>if a &lt; b &amp;&amp; c &gt; d {}</pre>"
    );
    assert_eq!(one("**<i>**", TG), "<b>&lt;i&gt;</b>");
}

#[test]
fn telegram_escapes_href() {
    assert_eq!(
        one("[x & y](https://e.com/?a=1&b=\"2\"<>)", TG),
        "<a href=\"https://e.com/?a=1&amp;b=&quot;2&quot;&lt;&gt;\">x &amp; y</a>"
    );
}

#[test]
fn slack_escapes_text_code_and_blocks() {
    assert_eq!(one("a & b < c > d", SLACK), "a &amp; b &lt; c &gt; d");
    assert_eq!(one("`a<b>&`", SLACK), "`a&lt;b&gt;&amp;`");
    assert_eq!(
        one("```\n<x> & y\n```", SLACK),
        "```\n&lt;x&gt; &amp; y\n```"
    );
}

#[test]
fn slack_neutralises_mentions_everywhere() {
    let text = "Hey <!channel> <!everyone> <!here> <@U123> <#C1|general>";
    assert_eq!(
        one(text, SLACK),
        "Hey &lt;!channel&gt; &lt;!everyone&gt; &lt;!here&gt; &lt;@U123&gt; &lt;#C1|general&gt;"
    );
    assert_eq!(one("`<!channel>`", SLACK), "`&lt;!channel&gt;`");
    assert_eq!(one("```\n<!here>\n```", SLACK), "```\n&lt;!here&gt;\n```");
    assert_eq!(one("**<@U123>**", SLACK), "*&lt;@U123&gt;*");
    assert_eq!(
        one("[<!everyone>](https://x.io)", SLACK),
        "<https://x.io|&lt;!everyone&gt;>"
    );
}

#[test]
fn slack_link_url_escapes_pipe_and_angles() {
    assert_eq!(
        one("[a|b](https://x.com/a|b>c<d&e)", SLACK),
        "<https://x.com/a%7Cb%3Ec%3Cd&amp;e|a|b>"
    );
}

#[test]
fn plain_does_not_escape() {
    assert_eq!(
        one("a & b <!channel> \"q\"", PLAIN),
        "a & b <!channel> \"q\""
    );
    assert_eq!(one("`<x>`", PLAIN), "<x>");
}

// ----- constructs -----------------------------------------------------------------------------

#[test]
fn bold_in_each_format() {
    let text = "**bold** and __also__";
    assert_eq!(one(text, TG), "<b>bold</b> and <b>also</b>");
    assert_eq!(one(text, SLACK), "*bold* and *also*");
    assert_eq!(one(text, PLAIN), "bold and also");
}

#[test]
fn italic_in_each_format() {
    let text = "*it* and _it_";
    assert_eq!(one(text, TG), "<i>it</i> and <i>it</i>");
    assert_eq!(one(text, SLACK), "_it_ and _it_");
    assert_eq!(one(text, PLAIN), "it and it");
}

#[test]
fn nested_emphasis() {
    assert_eq!(
        one("**bold *and italic***", TG),
        "<b>bold <i>and italic</i></b>"
    );
    assert_eq!(one("***both***", TG), "<i><b>both</b></i>");
    assert_eq!(one("*a **b** c*", TG), "<i>a <b>b</b> c</i>");
    assert_eq!(one("**bold *and italic***", SLACK), "*bold _and italic_*");
}

#[test]
fn slack_emphasis_is_closed_at_line_breaks() {
    assert_eq!(
        one("**two\nlines** and `a\nb`", SLACK),
        "*two*\n*lines* and `a`\n`b`"
    );
    assert_eq!(one("**two\nlines**", TG), "<b>two\nlines</b>");
}

#[test]
fn inline_code_in_each_format() {
    let text = "run `cargo **test**` now";
    assert_eq!(one(text, TG), "run <code>cargo **test**</code> now");
    assert_eq!(one(text, SLACK), "run `cargo **test**` now");
    assert_eq!(one(text, PLAIN), "run cargo **test** now");
    assert_eq!(one("```let x```", TG), "<code>let x</code>");
    assert_eq!(one("``a ` b``", TG), "<code>a ` b</code>");
}

#[test]
fn code_blocks_in_each_format() {
    let text = "```rust\nfn main() {\n    println!(\"hi\");\n}\n```";
    assert_eq!(
        one(text, TG),
        "<pre><code class=\"language-rust\">fn main() {\n    println!(\"hi\");\n}</code></pre>"
    );
    assert_eq!(
        one(text, SLACK),
        "```\nfn main() {\n    println!(\"hi\");\n}\n```"
    );
    assert_eq!(one(text, PLAIN), "fn main() {\n    println!(\"hi\");\n}");
    assert_eq!(one("```\n**not bold**\n```", TG), "<pre>**not bold**</pre>");
}

#[test]
fn unclosed_fence_runs_to_end() {
    assert_eq!(
        one("text\n\n```\ncode *here*\n\nmore", TG),
        "text\n\n<pre>code *here*\n\nmore</pre>"
    );
}

#[test]
fn odd_fence_language_is_dropped() {
    assert_eq!(one("```\"><script>\nx\n```", TG), "<pre>x</pre>");
}

#[test]
fn links_in_each_format() {
    let text = "see [the **docs**](https://example.com/a_b) now";
    assert_eq!(
        one(text, TG),
        "see <a href=\"https://example.com/a_b\">the <b>docs</b></a> now"
    );
    assert_eq!(
        one(text, SLACK),
        "see <https://example.com/a_b|the docs> now"
    );
    assert_eq!(
        one(text, PLAIN),
        "see the docs (https://example.com/a_b) now"
    );
    assert_eq!(
        one("[mail](mailto:a@b.c)", TG),
        "<a href=\"mailto:a@b.c\">mail</a>"
    );
    assert_eq!(one("[x](HTTP://A.B)", SLACK), "<HTTP://A.B|x>");
}

#[test]
fn link_edge_cases() {
    assert_eq!(
        one("[](https://x.io)", TG),
        "<a href=\"https://x.io\">https://x.io</a>"
    );
    assert_eq!(one("[https://x.io](https://x.io)", PLAIN), "https://x.io");
    assert_eq!(
        one(
            "[wiki](https://en.wikipedia.org/wiki/Rust_(language))",
            PLAIN
        ),
        "wiki (https://en.wikipedia.org/wiki/Rust_(language))"
    );
    // Telegram cannot nest code inside a link: the code marker is dropped there.
    assert_eq!(
        one("[`code`](https://x.io)", TG),
        "<a href=\"https://x.io\">code</a>"
    );
}

#[test]
fn lists_in_each_format() {
    let text = "- one\n* two\n+ **three**";
    assert_eq!(one(text, TG), "• one\n• two\n• <b>three</b>");
    assert_eq!(one(text, SLACK), "• one\n• two\n• *three*");
    assert_eq!(one(text, PLAIN), "• one\n• two\n• three");
    assert_eq!(
        one("3. three\n4) four\n  10. ten", PLAIN),
        "3. three\n4. four\n10. ten"
    );
}

#[test]
fn blocks_are_joined() {
    assert_eq!(one("a\nb\n\n\nc", PLAIN), "a\nb\n\nc");
    assert_eq!(
        one("Intro\n- a\n- b\n\nEnd", PLAIN),
        "Intro\n\n• a\n• b\n\nEnd"
    );
    assert_eq!(one("- a\ncontinued\n- b", PLAIN), "• a\ncontinued\n• b");
    assert_eq!(
        one("para\n```\ncode\n```\nafter", SLACK),
        "para\n\n```\ncode\n```\n\nafter"
    );
}

#[test]
fn snake_case_is_not_italic() {
    for format in ALL {
        assert!(one("call snake_case_name and __init__ now", format).contains("snake_case_name"));
    }
    assert_eq!(
        one("call snake_case_name now", TG),
        "call snake_case_name now"
    );
    assert_eq!(one("2 * 3 * 4 and a_b_c", TG), "2 * 3 * 4 and a_b_c");
    assert_eq!(
        one("* not a list* but _ not italic_", PLAIN),
        "• not a list* but _ not italic_"
    );
}

#[test]
fn backslash_escaped_markers_are_literal() {
    assert_eq!(
        one(
            "\\*not italic\\* and \\_x\\_ \\`y\\` \\[z](https://a.b)",
            TG
        ),
        "*not italic* and _x_ `y` [z](https://a.b)"
    );
    assert_eq!(one("a\\b \\n \\\\", PLAIN), "a\\b \\n \\\\");
}

#[test]
fn unclosed_markers_are_literal() {
    for text in [
        "**bold",
        "*a",
        "__x",
        "_y",
        "`code",
        "[a](https://x",
        "[a]",
        "a ** b",
    ] {
        assert_eq!(one(text, PLAIN), text);
        assert_eq!(one(text, SLACK), text);
    }
    assert_eq!(one("**bold*", TG), "*<i>bold</i>");
    assert_eq!(one("<b>**bold</b>", TG), "&lt;b&gt;**bold&lt;/b&gt;");
}

#[test]
fn disallowed_link_schemes_are_literal() {
    assert_eq!(
        one("[click](javascript:alert(1))", TG),
        "[click](javascript:alert(1))"
    );
    assert_eq!(one("[**x**](javascript:y)", TG), "[**x**](javascript:y)");
    assert_eq!(one("[x](ftp://a.b)", SLACK), "[x](ftp://a.b)");
    assert_eq!(one("[x](https://a b)", PLAIN), "[x](https://a b)");
    assert_eq!(one("[x](https://)", PLAIN), "[x](https://)");
    assert_eq!(
        one("[x](data:text/html,<b>)", TG),
        "[x](data:text/html,&lt;b&gt;)"
    );
}

#[test]
fn outside_subset_is_escaped_literal() {
    assert_eq!(one("# Title", TG), "# Title");
    assert_eq!(
        one("| a | b |\n|---|---|\n| <1> | 2 |", TG),
        "| a | b |\n|---|---|\n| &lt;1&gt; | 2 |"
    );
    assert_eq!(
        one("<script>alert(1)</script>", TG),
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    );
    assert_eq!(
        one("<script>alert(1)</script>", SLACK),
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    );
    assert_eq!(
        one("![alt *x*](https://x.io/i.png)", TG),
        "![alt *x*](https://x.io/i.png)"
    );
    assert_eq!(one("> quoted", TG), "&gt; quoted");
    assert_eq!(one("> quoted", SLACK), "&gt; quoted");
    assert_eq!(one("---", PLAIN), "---");
    assert_eq!(one("* * *", PLAIN), "* * *");
    assert_eq!(one("~~strike~~ C:\\dir\\x", PLAIN), "~~strike~~ C:\\dir\\x");
}

#[test]
fn empty_input_gives_no_parts() {
    for format in ALL {
        assert!(render_parts("", format, 100).is_empty());
        assert!(render_parts("  \n\n\t \n", format, 100).is_empty());
        assert!(render_parts("```\n  \n```", format, 100).is_empty());
    }
}

// ----- splitting ------------------------------------------------------------------------------

#[test]
fn short_text_is_one_part() {
    assert_eq!(parts("hello", TG, 4096), vec!["hello"]);
}

#[test]
fn exact_limit_fits_and_one_more_splits() {
    assert_eq!(parts("abcdefgh", TG, 8), vec!["abcdefgh"]);
    assert_eq!(parts("abcdefghi", TG, 8), vec!["abcdefgh", "i"]);
    assert_eq!(parts("**abcd**", TG, 11), vec!["<b>abcd</b>"]);
}

#[test]
fn splits_between_paragraphs() {
    assert_eq!(parts("aaaa\n\nbbbb", PLAIN, 10), vec!["aaaa\n\nbbbb"]);
    assert_eq!(parts("aaaa\n\nbbbb", PLAIN, 9), vec!["aaaa", "bbbb"]);
    assert_eq!(
        parts("aaaa\n\nbbbb\n\ncc", PLAIN, 10),
        vec!["aaaa\n\nbbbb", "cc"]
    );
}

#[test]
fn paragraph_that_fits_whole_moves_to_next_part() {
    assert_eq!(
        parts("first one\n\nsecond one", PLAIN, 12),
        vec!["first one", "second one"]
    );
}

#[test]
fn splits_between_list_items() {
    assert_eq!(
        parts("- aaa\n- bbb\n- ccc", PLAIN, 12),
        vec!["• aaa\n• bbb", "• ccc"]
    );
    assert_eq!(
        parts("- aaa\n- **bbb**\n- ccc", TG, 20),
        vec!["• aaa\n• <b>bbb</b>", "• ccc"]
    );
}

#[test]
fn splits_at_sentences() {
    assert_eq!(
        parts("One two. Three four. Five six.", PLAIN, 22),
        vec!["One two. Three four.", "Five six."]
    );
    assert_eq!(
        parts("Really? Yes! Sure.", PLAIN, 13),
        vec!["Really? Yes!", "Sure."]
    );
    assert_eq!(
        parts("first line\nsecond line here", PLAIN, 20),
        vec!["first line", "second line here"]
    );
}

#[test]
fn early_sentence_end_loses_to_whitespace() {
    assert_eq!(
        parts("Hi. then a long run of words here", PLAIN, 20),
        vec!["Hi. then a long run", "of words here"]
    );
}

#[test]
fn splits_at_whitespace() {
    assert_eq!(
        parts("alpha beta gamma delta", PLAIN, 11),
        vec!["alpha beta", "gamma delta"]
    );
    assert_eq!(parts("alpha   beta", PLAIN, 9), vec!["alpha", "beta"]);
}

#[test]
fn hard_cuts_without_whitespace() {
    assert_eq!(
        parts("abcdefghijklmnopqrst", PLAIN, 8),
        vec!["abcdefgh", "ijklmnop", "qrst"]
    );
    let url_parts = parts("see https://example.com/a/very/long/path", SLACK, 12);
    assert_eq!(url_parts.first().map(String::as_str), Some("see"));
    assert_eq!(
        url_parts.concat(),
        "seehttps://example.com/a/very/long/path"
    );
}

#[test]
fn list_marker_is_not_a_split_point() {
    let got = parts("- averyveryverylongword", PLAIN, 10);
    assert_eq!(got, vec!["• averyver", "yverylongw", "ord"]);
}

#[test]
fn multibyte_text_splits_at_char_boundaries() {
    assert_eq!(parts("😀😀😀😀😀", TG, 8), vec!["😀😀😀😀", "😀"]);
    assert_eq!(parts("😀😀😀😀😀", TG, 9), vec!["😀😀😀😀", "😀"]);
    assert_eq!(parts("😀😀😀😀😀", PLAIN, 8), vec!["😀😀😀😀😀"]);
    assert_eq!(
        parts("漢字漢字漢字漢字漢字", TG, 8),
        vec!["漢字漢字漢字漢字", "漢字"]
    );
    assert_eq!(parts("éééééééééé", SLACK, 8), vec!["éééééééé", "éé"]);
    assert_eq!(parts("a😀😀😀😀", TG, 8), vec!["a😀😀😀", "😀"]);
    assert_eq!(
        parts("**😀😀😀**", TG, 12),
        vec!["<b>😀😀</b>", "<b>😀</b>"]
    );
}

#[test]
fn escapes_are_never_cut() {
    assert_eq!(parts("&&&&", TG, 10), vec!["&amp;&amp;", "&amp;&amp;"]);
    assert_eq!(parts("&&&&", TG, 14), vec!["&amp;&amp;", "&amp;&amp;"]);
    assert_eq!(
        parts("<<<<<<", SLACK, 8),
        vec!["&lt;&lt;", "&lt;&lt;", "&lt;&lt;"]
    );
    for part in parts("<!channel>", SLACK, 8) {
        assert!(!part.contains('<'));
    }
}

#[test]
fn code_block_kept_whole_when_it_fits() {
    let text = "Some intro text here.\n\n```\nlet a = 1;\nlet b = 2;\n```";
    assert_eq!(
        parts(text, TG, 40),
        vec!["Some intro text here.", "<pre>let a = 1;\nlet b = 2;</pre>"]
    );
    assert_eq!(
        parts(text, PLAIN, 25),
        vec!["Some intro text here.", "let a = 1;\nlet b = 2;"]
    );
}

#[test]
fn long_code_block_splits_into_complete_blocks() {
    let text = "```rust\nfn a() {}\nfn b() {}\nfn c() {}\n```";
    let open = "<pre><code class=\"language-rust\">";
    let close = "</code></pre>";
    let limit = open.len() + close.len() + 19;
    assert_eq!(
        parts(text, TG, limit),
        vec![
            format!("{open}fn a() {{}}\nfn b() {{}}{close}"),
            format!("{open}fn c() {{}}{close}")
        ]
    );
    assert_eq!(
        parts(text, SLACK, 27),
        vec!["```\nfn a() {}\nfn b() {}\n```", "```\nfn c() {}\n```"]
    );
    assert_eq!(
        parts(text, PLAIN, 19),
        vec!["fn a() {}\nfn b() {}", "fn c() {}"]
    );
}

#[test]
fn code_block_split_keeps_indentation_and_skips_blank_lines() {
    let text = "```\nfn main() {\n\n    body();\n}\n```";
    assert_eq!(
        parts(text, SLACK, 21),
        vec!["```\nfn main() {\n```", "```\n    body();\n}\n```"]
    );
}

#[test]
fn long_code_line_is_cut_at_char_boundary() {
    assert_eq!(
        parts("```\nabcdefghijklmnopqrstuvwxyz\n```", SLACK, 18),
        vec![
            "```\nabcdefghij\n```",
            "```\nklmnopqrst\n```",
            "```\nuvwxyz\n```"
        ]
    );
    assert_eq!(
        parts("```\n&&&&\n```", TG, 21),
        vec!["<pre>&amp;&amp;</pre>", "<pre>&amp;&amp;</pre>"]
    );
}

#[test]
fn formatting_is_reopened_across_parts() {
    assert_eq!(
        parts("**one two three four**", TG, 17),
        vec!["<b>one two</b>", "<b>three four</b>"]
    );
    assert_eq!(
        parts("**one two three four**", SLACK, 12),
        vec!["*one two*", "*three four*"]
    );
    assert_eq!(
        parts("**bold _ital words_ end**", TG, 24),
        vec!["<b>bold <i>ital</i></b>", "<b><i>words</i> end</b>"]
    );
    assert_eq!(
        parts("`let a = b;`", TG, 20),
        vec!["<code>let a =</code>", "<code>b;</code>"]
    );
}

#[test]
fn links_are_reopened_across_parts() {
    assert_eq!(
        parts("[alpha beta gamma](https://x.io)", TG, 40),
        vec![
            "<a href=\"https://x.io\">alpha beta</a>",
            "<a href=\"https://x.io\">gamma</a>"
        ]
    );
    for part in parts("[alpha beta gamma](https://x.io)", SLACK, 24) {
        assert!(
            part.starts_with("<https://x.io|") && part.ends_with('>'),
            "{part}"
        );
    }
}

#[test]
fn tiny_limits_drop_formatting_rather_than_overflow() {
    let text = "```rust\nlet x = 1;\n```";
    let got = parts(text, TG, 10);
    assert!(got.iter().all(|p| !p.contains("<pre")), "{got:?}");
    assert_content_kept(text, TG, &got);
    assert_eq!(parts("**&**", TG, 8), vec!["&amp;"]);
    assert_eq!(parts("```\nab\n```", SLACK, 8), vec!["ab"]);
}

#[test]
fn limits_below_eight_never_panic_or_loop() {
    for format in ALL {
        for limit in 0..8 {
            let got = render_parts("**&é😀** [x](https://y.z)\n\n```\n&\n```", format, limit);
            assert!(!got.is_empty());
            assert!(got.iter().all(|p| !p.is_empty()));
        }
    }
}

#[test]
fn order_and_content_are_kept() {
    let text = "First paragraph with **some bold text** here. And more!\n\n\
                - item one is long enough\n- item _two_ too\n\n\
                ```py\nprint(1)\nprint(2)\n```\n\nLast & final [link](https://a.b/c) words.";
    for format in ALL {
        for limit in [8, 12, 20, 33, 50, 80, 4096] {
            let got = parts(text, format, limit);
            if format != SLACK {
                assert_content_kept(text, format, &got);
            }
            let joined = got.join("\n");
            let first = joined.find("First").unwrap();
            let last = joined.find("words").unwrap();
            assert!(first < last);
        }
    }
}

#[test]
fn content_kept_for_plain_split() {
    let text = "The quick brown fox. Jumps over the lazy dog! Again and again?\nYes.";
    let got = parts(text, PLAIN, 15);
    assert_eq!(
        got.join(" ").split_whitespace().collect::<Vec<_>>(),
        text.split_whitespace().collect::<Vec<_>>()
    );
}

// ----- WhatsApp --------------------------------------------------------------------------------

#[test]
fn whatsapp_length_and_escape_helpers() {
    assert_eq!(WA.length("a😀é"), 3);
    assert_eq!(
        WA.escape_text("<b>&amp; *x* _y_ ~z~ `c`"),
        "<b>&amp; *x* _y_ ~z~ `c`"
    );
    assert_eq!(WA.escape_url("https://x/a|b<c>&d"), "https://x/a|b<c>&d");
}

#[test]
fn whatsapp_bold_italic_and_nesting() {
    assert_eq!(one("**bold** and __also__", WA), "*bold* and *also*");
    assert_eq!(one("*it* and _it_", WA), "_it_ and _it_");
    assert_eq!(one("**bold *and italic***", WA), "*bold _and italic_*");
    assert_eq!(one("***both***", WA), "_*both*_");
    // A style nested in itself would close it early: the inner marker is dropped.
    assert_eq!(one("**a __b__ c**", WA), "*a b c*");
    assert_eq!(one("*a _b_ c*", WA), "_a b c_");
}

#[test]
fn whatsapp_styles_are_closed_at_line_breaks() {
    assert_eq!(
        one("**two\nlines** and `a\nb`", WA),
        "*two*\n*lines* and `a`\n`b`"
    );
}

#[test]
fn whatsapp_inline_code() {
    assert_eq!(
        one("run `cargo **test**` now", WA),
        "run `cargo **test**` now"
    );
    assert_eq!(one("```let x```", WA), "`let x`");
    // No escape inside code: code holding a backtick is shown as text.
    assert_eq!(one("``a ` b``", WA), "a ` b");
}

#[test]
fn whatsapp_code_blocks() {
    let text = "```rust\nfn main() {\n    println!(\"hi\");\n}\n```";
    assert_eq!(one(text, WA), "```fn main() {\n    println!(\"hi\");\n}```");
    assert_eq!(
        one("```\n**not bold** <b>\n```", WA),
        "```**not bold** <b>```"
    );
    assert_eq!(
        one("```\nlet s = \"```\";\n```", WA),
        "```let s = \"`\u{200B}`\u{200B}`\";```"
    );
}

#[test]
fn whatsapp_links() {
    assert_eq!(
        one("see [the **docs**](https://example.com/a_b) now", WA),
        "see the *docs* (https://example.com/a_b) now"
    );
    assert_eq!(one("[https://x.io](https://x.io)", WA), "https://x.io");
    assert_eq!(one("[](https://x.io)", WA), "https://x.io");
    assert_eq!(one("[mail](mailto:a@b.c)", WA), "mail (mailto:a@b.c)");
    assert_eq!(one("[x](javascript:y)", WA), "[x](javascript:y)");
}

#[test]
fn whatsapp_lists() {
    assert_eq!(
        one("- one\n* two\n+ **three**", WA),
        "• one\n• two\n• *three*"
    );
    assert_eq!(one("3. three\n4) _four_", WA), "3. three\n4. _four_");
}

#[test]
fn whatsapp_leaves_literal_markers_and_html_alone() {
    assert_eq!(
        one("2 * 3 * 4, snake_case_name, ~~s~~ <b>x</b> & &amp; > q", WA),
        "2 * 3 * 4, snake_case_name, ~~s~~ <b>x</b> & &amp; > q"
    );
    assert_eq!(one("\\*lit\\* \\_x\\_", WA), "*lit* _x_");
    assert_eq!(one("`a<b>&c`", WA), "`a<b>&c`");
}

#[test]
fn whatsapp_splits_at_its_limit_counting_chars() {
    let exact = "é".repeat(4096);
    assert_eq!(parts(&exact, WA, 4096), vec![exact.clone()]);
    let over = "😀".repeat(4097);
    assert_eq!(
        parts(&over, WA, 4096),
        vec!["😀".repeat(4096), "😀".to_string()]
    );
    assert_eq!(
        parts("漢字漢字漢字漢字漢字", WA, 8),
        vec!["漢字漢字漢字漢字", "漢字"]
    );
    assert_eq!(
        parts("**😀😀😀😀😀😀😀😀**", WA, 8),
        vec!["*😀😀😀😀😀😀*", "*😀😀*"]
    );
    assert_eq!(
        parts("**one two three four**", WA, 12),
        vec!["*one two*", "*three four*"]
    );
    assert_eq!(
        parts("- aaa\n- bbb\n- ccc", WA, 12),
        vec!["• aaa\n• bbb", "• ccc"]
    );
}

#[test]
fn whatsapp_code_block_splits_into_complete_blocks() {
    let text = "```rust\nfn a() {}\nfn b() {}\nfn c() {}\n```";
    assert_eq!(
        parts(text, WA, 25),
        vec!["```fn a() {}\nfn b() {}```", "```fn c() {}```"]
    );
    assert_eq!(
        parts("```\nabcdefghijkl\n```", WA, 12),
        vec!["```abcdef```", "```ghijkl```"]
    );
}

// ----- Discord ---------------------------------------------------------------------------------

#[test]
fn discord_length_and_escape_helpers() {
    assert_eq!(DISCORD.length("a😀é\u{200B}"), 4);
    assert_eq!(
        DISCORD.escape_text("a*b_c~d`e|f<g>h#i[j]k\\l (m) @everyone @Here @x"),
        "a\\*b\\_c\\~d\\`e\\|f\\<g\\>h\\#i\\[j\\]k\\\\l (m) @\u{200B}everyone @\u{200B}Here @x"
    );
    assert_eq!(
        DISCORD.escape_url("https://x/a_(b)<c>\\d/@here/@x"),
        "https://x/a_%28b%29%3Cc%3E%5Cd/%40here/@x"
    );
}

#[test]
fn discord_bold_italic_and_nesting() {
    assert_eq!(
        one("**bold** and __also__", DISCORD),
        "**bold** and **also**"
    );
    assert_eq!(one("*it* and _it_", DISCORD), "*it* and *it*");
    assert_eq!(
        one("**bold *and italic***", DISCORD),
        "**bold *and italic***"
    );
    assert_eq!(one("***both***", DISCORD), "***both***");
    assert_eq!(one("*a _b_ c*", DISCORD), "*a b c*");
    assert_eq!(one("**two\nlines**", DISCORD), "**two\nlines**");
}

#[test]
fn discord_inline_code_is_not_escaped() {
    assert_eq!(
        one("run `cargo **test** ~~x~~ @everyone` now", DISCORD),
        "run `cargo **test** ~~x~~ @everyone` now"
    );
    assert_eq!(one("```let x```", DISCORD), "`let x`");
    // No escape inside code: code holding a backtick is shown as escaped text.
    assert_eq!(one("``a ` *b*``", DISCORD), "a \\` \\*b\\*");
}

#[test]
fn discord_code_blocks() {
    let text = "```rust\nfn main() {\n    println!(\"hi\");\n}\n```";
    assert_eq!(
        one(text, DISCORD),
        "```rust\nfn main() {\n    println!(\"hi\");\n}\n```"
    );
    assert_eq!(
        one("```\n**not bold** ~~x~~ || > # @here\n```", DISCORD),
        "```\n**not bold** ~~x~~ || > # @here\n```"
    );
    assert_eq!(one("```\"><script>\nx\n```", DISCORD), "```\nx\n```");
}

#[test]
fn discord_code_block_cannot_close_its_fence_early() {
    let got = one("```\nlet s = \"```\";\n@everyone\n```", DISCORD);
    assert_eq!(got, "```\nlet s = \"`\u{200B}`\u{200B}`\";\n@everyone\n```");
    assert_eq!(got.matches("```").count(), 2);
    assert_eq!(discord_visible(&got), "let s = \"```\";\n@everyone\n");
    assert_eq!(one("```\n``\n```", DISCORD), "```\n`\u{200B}`\n```");
}

#[test]
fn discord_escapes_markup_in_text() {
    for (text, want) in [
        ("a ** b", "a \\*\\* b"),
        ("snake_case_name", "snake\\_case\\_name"),
        ("~~strike~~", "\\~\\~strike\\~\\~"),
        ("||spoiler||", "\\|\\|spoiler\\|\\|"),
        ("> quote", "\\> quote"),
        (">>> quote", "\\>\\>\\> quote"),
        ("# heading", "\\# heading"),
        ("-# subtext", "-\\# subtext"),
        ("C:\\dir", "C:\\\\dir"),
        ("`open code", "\\`open code"),
        ("\\*lit\\*", "\\*lit\\*"),
        ("[x](javascript:y)", "\\[x\\](javascript:y)"),
        (
            "<@123> <#456> <t:1:R>",
            "\\<@123\\> \\<\\#456\\> \\<t:1:R\\>",
        ),
    ] {
        assert_eq!(one(text, DISCORD), want, "for {text:?}");
    }
}

#[test]
fn discord_neutralises_mass_mentions_outside_code() {
    assert_eq!(
        one("ping @everyone and @here, @Everyone, @HERE!", DISCORD),
        "ping @\u{200B}everyone and @\u{200B}here, @\u{200B}Everyone, @\u{200B}HERE!"
    );
    assert_eq!(one("**@here**", DISCORD), "**@\u{200B}here**");
    // Formatting dropped in a link label must not join `@` and `everyone`.
    assert_eq!(
        one("[@**everyone**](https://x.io)", DISCORD),
        "[@\u{200B}everyone](<https://x.io>)"
    );
    assert_eq!(
        one("mail ops@here.example", DISCORD),
        "mail ops@\u{200B}here.example"
    );
    assert_eq!(one("@someone", DISCORD), "@someone");
}

#[test]
fn discord_links() {
    assert_eq!(
        one("see [the **docs**](https://example.com/a_b) now", DISCORD),
        "see [the docs](<https://example.com/a_b>) now"
    );
    assert_eq!(
        one(
            "[wiki](https://en.wikipedia.org/wiki/Rust_(language))",
            DISCORD
        ),
        "[wiki](<https://en.wikipedia.org/wiki/Rust_%28language%29>)"
    );
    assert_eq!(
        one("[a [b] | c](https://x.io/@everyone)", DISCORD),
        "[a \\[b\\] \\| c](<https://x.io/%40everyone>)"
    );
    assert_eq!(
        one("[mail](mailto:a@b.c)", DISCORD),
        "[mail](<mailto:a@b.c>)"
    );
    assert_eq!(one("[](https://x.io)", DISCORD), "<https://x.io>");
    assert_eq!(
        one("[https://x.io/a_b](https://x.io/a_b)", DISCORD),
        "<https://x.io/a_b>"
    );
    assert_eq!(one("[x](ftp://a.b)", DISCORD), "\\[x\\](ftp://a.b)");
}

#[test]
fn discord_bare_urls_are_kept_whole_and_unescaped() {
    assert_eq!(
        one("see https://x.io/a_b#c. Next", DISCORD),
        "see <https://x.io/a_b#c>. Next"
    );
    assert_eq!(one("(https://x.io/a)", DISCORD), "(<https://x.io/a>)");
    assert_eq!(
        one("**https://en.wikipedia.org/wiki/Rust_(language)**", DISCORD),
        "**<https://en.wikipedia.org/wiki/Rust_%28language%29>**"
    );
    assert_eq!(one("xhttps://a.b/c_d", DISCORD), "xhttps://a.b/c\\_d");
    assert_eq!(
        one("https:// and http://.", DISCORD),
        "https:// and http://."
    );
    // A URL that cannot fit a part whole is escaped text, so a split cannot leave `<#1>`.
    let got = parts("https://x.io/#1234567890", DISCORD, 12);
    assert!(got.iter().all(|p| !p.contains('<')), "{got:?}");
}

#[test]
fn discord_lists() {
    assert_eq!(
        one("- one\n* two\n+ **three**", DISCORD),
        "- one\n- two\n- **three**"
    );
    assert_eq!(one("3. three\n4) *four*", DISCORD), "3. three\n4. *four*");
    assert_eq!(one("Intro\n- a\n- b", DISCORD), "Intro\n\n- a\n- b");
}

#[test]
fn discord_splits_at_its_limit_counting_chars() {
    let exact = "é".repeat(2000);
    assert_eq!(parts(&exact, DISCORD, 2000), vec![exact.clone()]);
    let over = "😀".repeat(2001);
    assert_eq!(
        parts(&over, DISCORD, 2000),
        vec!["😀".repeat(2000), "😀".to_string()]
    );
    assert_eq!(
        parts("**漢字漢字漢字漢字**", DISCORD, 8),
        vec!["**漢字漢字**", "**漢字漢字**"]
    );
    assert_eq!(
        parts("*one two three four*", DISCORD, 12),
        vec!["*one two*", "*three four*"]
    );
}

#[test]
fn discord_escapes_and_mentions_are_never_cut() {
    assert_eq!(parts("~~~~~", DISCORD, 8), vec!["\\~\\~\\~\\~", "\\~"]);
    assert_eq!(
        parts("@here@here", DISCORD, 8),
        vec!["@\u{200B}here@\u{200B}", "here"]
    );
    assert_eq!(
        parts("**||a||**", DISCORD, 9),
        vec!["**\\|\\|a**", "**\\|\\|**"]
    );
}

#[test]
fn discord_links_are_reopened_across_parts() {
    assert_eq!(
        parts("[alpha beta gamma](https://x.io)", DISCORD, 30),
        vec!["[alpha beta](<https://x.io>)", "[gamma](<https://x.io>)"]
    );
}

#[test]
fn discord_code_block_splits_into_complete_blocks() {
    let text = "```rust\nfn a() {}\nfn b() {}\nfn c() {}\n```";
    assert_eq!(
        parts(text, DISCORD, 31),
        vec![
            "```rust\nfn a() {}\nfn b() {}\n```",
            "```rust\nfn c() {}\n```"
        ]
    );
    // Each backtick keeps its zero-width space, so no part can close its fence early.
    let got = parts("```\n``````\n```", DISCORD, 10);
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(got.iter().all(|p| p.matches("```").count() == 2), "{got:?}");
}

#[test]
fn discord_tiny_limits_stay_escaped_without_markup() {
    let got = parts("```\n@here **x** ~~y~~\n```", DISCORD, 8);
    assert!(got.iter().all(|p| !p.contains("```")), "{got:?}");
    assert_content_kept("```\n@here **x** ~~y~~\n```", DISCORD, &got);
}

#[test]
fn new_formats_order_and_content_are_kept() {
    let text = "First paragraph with **some bold text** here. And more!\n\n\
                - item one is long enough\n- item _two_ too @here\n\n\
                ```py\nprint(1)\nprint(2)\n```\n\nLast & final [link](https://a.b/c) \
                https://a.b/d_e words.";
    for format in [WA, DISCORD] {
        for limit in [8, 12, 20, 33, 50, 80, 4096] {
            let got = parts(text, format, limit);
            assert_content_kept(text, format, &got);
            let joined = got.join("\n");
            assert!(joined.find("First").unwrap() < joined.find("words").unwrap());
        }
    }
}

#[test]
fn new_formats_handle_empty_input_and_tiny_limits() {
    for format in [WA, DISCORD] {
        assert!(render_parts("", format, 100).is_empty());
        assert!(render_parts("  \n\n\t \n", format, 100).is_empty());
        assert!(render_parts("```\n  \n```", format, 100).is_empty());
        for limit in 0..8 {
            let got = render_parts("**&é😀** [x](https://y.z)\n\n```\n&\n```", format, limit);
            assert!(!got.is_empty());
            assert!(got.iter().all(|p| !p.is_empty()));
        }
    }
}

// ----- random inputs --------------------------------------------------------------------------

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: [&str; 30] = [
    "*",
    "_",
    "`",
    "[",
    "]",
    "(",
    ")",
    "<",
    ">",
    "&",
    "\n",
    " ",
    ".",
    "a",
    "é",
    "😀",
    "**",
    "__",
    "https://x.y",
    "```",
    "- ",
    "1. ",
    "!",
    "\n\n",
    "```rust\n",
    "\"",
    "\t",
    "\r\n",
    "\\",
    "\u{10348}",
];

/// Markup of the new formats, mass mentions and URLs that need escaping.
const MARKUP_PIECES: [&str; 24] = [
    "@everyone",
    "@here",
    "@",
    "everyone",
    "~",
    "~~",
    "|",
    "||",
    "#",
    "# ",
    ">",
    "> ",
    "-# ",
    "`",
    "``",
    "```\n",
    "\n```\n",
    "https://a.b/c_d(e)#f",
    "[x](https://y.z/@here)",
    "**",
    "_",
    " ",
    "\n",
    "é",
];

/// Random texts from `pieces`, rendered in every format at several limits: no panic, parts
/// within the limit and valid for their format (for Discord that includes: markup characters in
/// text escaped and no `@everyone`/`@here` left outside code), content and emptiness kept.
fn check_random_inputs(seed: u64, rounds: usize, pieces: &[&str], limits: [usize; 5]) {
    let mut rng = Lcg(seed);
    for _ in 0..rounds {
        let count = rng.below(60);
        let text: String = (0..count)
            .map(|_| pieces[rng.below(pieces.len())])
            .collect();
        for format in EVERY {
            let whole = render_parts(&text, format, usize::MAX);
            assert!(whole.len() <= 1);
            for limit in limits {
                let got = render_parts(&text, format, limit);
                assert_parts_valid(&got, format, limit);
                assert_eq!(got.is_empty(), whole.is_empty(), "{text:?}");
                if format != SLACK {
                    assert_content_kept(&text, format, &got);
                }
            }
        }
    }
}

#[test]
fn random_inputs_never_panic_and_stay_valid() {
    check_random_inputs(42, 3000, &PIECES, [8, 9, 13, 24, 41]);
    check_random_inputs(7, 1500, &MARKUP_PIECES, [8, 11, 19, 32, 2000]);
}

#[test]
fn pathological_inputs_are_fast_enough() {
    let many_openers = "*a _b [c `d ".repeat(3000);
    let many_brackets = "[".repeat(20_000);
    for text in [many_openers.as_str(), many_brackets.as_str()] {
        for format in ALL {
            let got = render_parts(text, format, 4096);
            assert_parts_valid(&got, format, 4096);
        }
    }
}

#[test]
fn pathological_inputs_are_fast_enough_in_new_formats() {
    let mentions = "@@here".repeat(5000);
    let schemes = "https://".repeat(5000);
    let parens = format!("https://x.io/{}", ")".repeat(20_000));
    let ticks = format!("```\n{}\n```", "`".repeat(20_000));
    let openers = "*a _b [c `d ".repeat(3000);
    for text in [&mentions, &schemes, &parens, &ticks, &openers] {
        for (format, limit) in [(WA, 4096), (DISCORD, 2000)] {
            let got = render_parts(text, format, limit);
            assert_parts_valid(&got, format, limit);
        }
    }
}
