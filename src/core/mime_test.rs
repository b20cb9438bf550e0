use super::*;

const REPLY: &[u8] = include_bytes!("../../tests/fixtures/email/reply.eml");

#[test]
fn headers_are_unfolded_in_order_and_the_body_split_at_the_first_empty_line() {
    let message = Message::parse(REPLY).unwrap();
    let results: Vec<&str> = message
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("authentication-results"))
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].starts_with("mx.cloudflare.net; dkim=pass header.d=customer.example"));
    assert!(results[0].contains("; arc=pass"), "{}", results[0]);
    assert_eq!(
        message.header("message-id"),
        Some("<CAHx2=reply-2@mail.customer.example>")
    );
    assert_eq!(
        message_ids(message.header("References").unwrap()),
        [
            "<CAHx1=first@mail.customer.example>",
            "<0de0a11c-0000-4000-8000-000000000001@acme.example>"
        ]
    );
    assert!(message.body.starts_with(b"--000000000000a1b2c3"));
    let bare = Message::parse(b"Subject: a\n b\n\nbody\n").unwrap();
    assert_eq!(bare.header("subject"), Some("a b"));
    assert_eq!(bare.body, b"body\n");
    // 8-bit header bytes are read lossily; control characters refuse the message.
    let lossy = Message::parse(b"X-Note: caf\xe9\r\n\r\n").unwrap();
    assert_eq!(lossy.header("x-note"), Some("caf\u{fffd}"));
    assert_eq!(Message::parse(b"X-Note: a\rb\r\n\r\n"), None);
    assert_eq!(Message::parse(b"X-Note: a\x00b\r\n\r\n"), None);
}

#[test]
fn the_text_is_the_plain_part_decoded() {
    let text = Message::parse(REPLY).unwrap().text().unwrap();
    assert!(
        text.starts_with("Thanks \u{2013} it arrived this morning. Can you also send the invoice?"),
        "{text}"
    );
    assert!(text.contains("> Your order ships today."));
}

#[test]
fn html_only_base64_and_latin1_bodies_are_read() {
    let html = b"Content-Type: text/html\r\n\r\n<p>Hi&nbsp;<b>there</b> &amp; bye</p>";
    assert_eq!(
        Message::parse(html).unwrap().text().unwrap(),
        "Hi there & bye"
    );
    let base64 = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVs\r\nbG8g4pyT\r\n";
    assert_eq!(
        Message::parse(base64).unwrap().text().unwrap(),
        "Hello \u{2713}"
    );
    let latin1 = b"Content-Type: text/plain; charset=ISO-8859-1\r\n\r\nGr\xfc\xdfe";
    assert_eq!(
        Message::parse(latin1).unwrap().text().unwrap(),
        "Gr\u{fc}\u{df}e"
    );
    let attachment_only = b"Content-Type: image/png\r\n\r\nxx";
    assert_eq!(Message::parse(attachment_only).unwrap().text(), None);
}

#[test]
fn nesting_is_bounded() {
    let mut raw = String::new();
    for depth in 0..10 {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{depth}\r\n\r\n--b{depth}\r\n"
        ));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\ndeep\r\n");
    assert_eq!(Message::parse(raw.as_bytes()).unwrap().text(), None);
}

#[test]
fn encoded_words_addresses_and_names() {
    assert_eq!(
        decode_words("Re: =?UTF-8?B?T3JkZXIgIzQyIOKAkyBkZWxheWVk?="),
        "Re: Order #42 \u{2013} delayed"
    );
    assert_eq!(
        decode_words("=?UTF-8?Q?Alice_M=C3=BCller?="),
        "Alice M\u{fc}ller"
    );
    assert_eq!(decode_words("=?UTF-8?Q?a?= =?UTF-8?Q?b?="), "ab");
    assert_eq!(decode_words("plain =?x"), "plain =?x");
    assert_eq!(decode_words("=?UTF-8?X?abc?="), "=?UTF-8?X?abc?=");
    assert_eq!(
        address("=?UTF-8?Q?Alice?= <Alice@Customer.example>").as_deref(),
        Some("alice@customer.example")
    );
    assert_eq!(address("bob@x.example").as_deref(), Some("bob@x.example"));
    assert_eq!(address("no address"), None);
    assert_eq!(address("a <b c@d>"), None);
    assert_eq!(
        display_name("\"=?UTF-8?Q?Alice_M=C3=BCller?=\" <a@b.c>").as_deref(),
        Some("Alice M\u{fc}ller")
    );
    assert_eq!(display_name("a@b.c"), None);
    assert_eq!(message_ids("<a@b> junk <> <c@d>"), ["<a@b>", "<c@d>"]);
}

#[test]
fn replies_are_written_in_header_safe_forms() {
    assert_eq!(encode_word("Re: Help"), "Re: Help");
    assert_eq!(
        encode_word("Re: Gr\u{fc}\u{df}e"),
        "=?UTF-8?B?UmU6IEdyw7zDn2U=?="
    );
    assert_eq!(encode_word("a\r\nBcc: x"), "=?UTF-8?B?YQ0KQmNjOiB4?=");
    let lines = base64_lines(&[0u8; 100]);
    assert!(lines.split("\r\n").all(|line| line.len() <= 76));
    assert_eq!(date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    assert_eq!(date(1_796_000_000), "Mon, 30 Nov 2026 00:53:20 +0000");
}

#[test]
fn comments_are_never_addresses_and_lists_are_not_one_address() {
    assert_eq!(
        address("ceo@victim.example (<a@b.example>)").as_deref(),
        Some("ceo@victim.example")
    );
    assert_eq!(
        address("a@b.example (<ceo@victim.example>)").as_deref(),
        Some("a@b.example")
    );
    assert_eq!(
        address("Alice (\\) <x@y.example>) <a@b.example>").as_deref(),
        Some("a@b.example")
    );
    assert_eq!(address("<a@b.example>, <c@d.example>"), None);
    assert_eq!(address("a@b.example, c@d.example"), None);
    assert_eq!(address("\"a b\"@c.example"), None);
    assert_eq!(address("<a\rBcc:x@b.example>"), None);
    assert_eq!(address("<a@localhost>"), None);
    assert_eq!(without_comments("a (b (c) d) \"(e)\" f"), "a  \"(e)\" f");
}

#[test]
fn message_ids_hold_only_visible_ascii() {
    assert_eq!(message_ids("<a\rb@c> <d\x7f@e> <ok@f>"), ["<ok@f>"]);
}

#[test]
fn long_or_encoded_subjects_are_split_into_short_words() {
    let long = "\u{e9}".repeat(100);
    let encoded = encode_word(&long);
    assert!(
        encoded.split("\r\n ").all(|word| word.len() <= 75),
        "{encoded}"
    );
    assert_eq!(decode_words(&encoded.replace("\r\n ", " ")), long);
    assert_eq!(encode_word(&"a".repeat(100)), "a".repeat(100));
    assert!(encode_word(&"a".repeat(1000)).starts_with("=?UTF-8?B?"));
}

#[test]
fn references_keep_the_first_and_the_latest_ids() {
    let chain: Vec<String> = (0..30).map(|n| format!("<{n}@x>")).collect();
    let kept = references(&chain);
    assert_eq!(kept.split(' ').count(), 10);
    assert!(kept.starts_with("<0@x> <21@x>"), "{kept}");
    assert!(kept.ends_with("<29@x>"));
    assert_eq!(references(&["<a@b>"]), "<a@b>");
    assert_eq!(references::<&str>(&[]), "");
}
