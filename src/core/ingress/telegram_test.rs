//! Tests for [`super::Telegram`]. Telegram publishes no verification vector: `setWebhook`
//! (<https://core.telegram.org/bots/api#setwebhook>) says only that the header carries the
//! `secret_token` verbatim (1–256 characters `A-Z`, `a-z`, `0-9`, `_`, `-`), so the tokens here
//! are made up within those rules. Fixtures: `tests/fixtures/telegram/`, built from the Bot API's
//! object definitions; sources in `tests/fixtures/README.md`.

use super::*;
use crate::core::ingress::{Ack, ConversationType, Event, Kind, Parsed, Rejection, Request};
use serde_json::json;

/// A token as `setWebhook` accepts it.
const TOKEN: &str = "s3cr3t_T0ken-for-webhook";
/// The next token during a rotation.
const NEW_TOKEN: &str = "n3w_s3cr3t-T0ken-2";

const PRIVATE_TEXT: &[u8] = include_bytes!("../../../tests/fixtures/telegram/private_text.json");
const START_COMMAND: &[u8] = include_bytes!("../../../tests/fixtures/telegram/start_command.json");
const FORUM_TOPIC: &[u8] = include_bytes!("../../../tests/fixtures/telegram/forum_topic.json");
const CALLBACK_QUERY: &[u8] =
    include_bytes!("../../../tests/fixtures/telegram/callback_query.json");
const EDITED_MESSAGE: &[u8] =
    include_bytes!("../../../tests/fixtures/telegram/edited_message.json");
const MY_CHAT_MEMBER: &[u8] =
    include_bytes!("../../../tests/fixtures/telegram/my_chat_member.json");
const POLL_ANSWER: &[u8] = include_bytes!("../../../tests/fixtures/telegram/poll_answer.json");

fn request<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> Request<'a> {
    Request {
        method: "POST",
        headers,
        query: &[],
        url: "",
        body,
    }
}

/// Verifies a request whose secret token header is `token` (absent for `None`).
fn verify(token: Option<&str>, secrets: &[&str]) -> Result<(), Rejection> {
    let headers: Vec<(String, String)> = token
        .map(|token| (SECRET_TOKEN.to_owned(), token.to_owned()))
        .into_iter()
        .collect();
    let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
    Telegram::verify(
        &request(&headers, PRIVATE_TEXT),
        &secrets,
        1_718_000_000,
        300,
    )
}

fn single_event(body: &[u8]) -> Event {
    match Telegram::parse(&request(&[], body)).unwrap() {
        Parsed::Events { mut events, ack } => {
            assert_eq!(ack, Ack::Empty);
            assert_eq!(events.len(), 1);
            events.remove(0)
        }
        other => panic!("expected one event, got {other:?}"),
    }
}

fn raw(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

// Verification. Vectors: the made-up tokens above (see the module doc).

#[test]
fn the_configured_token_verifies() {
    assert_eq!(verify(Some(TOKEN), &[TOKEN]), Ok(()));
}

#[test]
fn header_names_are_case_insensitive() {
    for name in [
        "x-telegram-bot-api-secret-token",
        "X-TELEGRAM-BOT-API-SECRET-TOKEN",
    ] {
        let headers = vec![(name.to_owned(), TOKEN.to_owned())];
        let secrets = vec![TOKEN.to_owned()];
        let result = Telegram::verify(&request(&headers, PRIVATE_TEXT), &secrets, 0, 0);
        assert_eq!(result, Ok(()), "{name}");
    }
}

#[test]
fn a_wrong_token_is_refused() {
    assert_eq!(
        verify(Some("another-token"), &[TOKEN]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_token_differing_in_the_last_character_is_refused() {
    let last_changed = format!("{}X", &TOKEN[..TOKEN.len() - 1]);
    assert_eq!(
        verify(Some(&last_changed), &[TOKEN]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_token_differing_in_length_is_refused() {
    let shorter = &TOKEN[..TOKEN.len() - 1];
    let longer = format!("{TOKEN}x");
    assert_eq!(
        verify(Some(shorter), &[TOKEN]),
        Err(Rejection::BadSignature)
    );
    assert_eq!(
        verify(Some(&longer), &[TOKEN]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_token_is_compared_exactly() {
    // Case and surrounding spaces matter: the header is the token verbatim.
    let upper = TOKEN.to_ascii_uppercase();
    let spaced = format!(" {TOKEN}");
    assert_eq!(verify(Some(&upper), &[TOKEN]), Err(Rejection::BadSignature));
    assert_eq!(
        verify(Some(&spaced), &[TOKEN]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn an_empty_token_is_malformed() {
    assert_eq!(
        verify(Some(""), &[TOKEN]),
        Err(Rejection::MalformedSignature {
            header: SECRET_TOKEN
        })
    );
}

#[test]
fn a_missing_header_is_refused() {
    assert_eq!(
        verify(None, &[TOKEN]),
        Err(Rejection::MissingHeader {
            header: SECRET_TOKEN
        })
    );
}

#[test]
fn rotation_accepts_either_token() {
    assert_eq!(verify(Some(TOKEN), &[NEW_TOKEN, TOKEN]), Ok(()));
    assert_eq!(verify(Some(NEW_TOKEN), &[NEW_TOKEN, TOKEN]), Ok(()));
    assert_eq!(
        verify(Some(TOKEN), &[NEW_TOKEN]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn no_secrets_is_refused() {
    assert_eq!(verify(Some(TOKEN), &[]), Err(Rejection::NoSecret));
}

#[test]
fn empty_secrets_are_never_used() {
    // The trap in providers.md: an installation without a secret token must not accept updates.
    assert_eq!(verify(Some(TOKEN), &[""]), Err(Rejection::NoSecret));
    assert_eq!(verify(Some(TOKEN), &["", TOKEN]), Ok(()));
}

#[test]
fn the_clock_is_ignored() {
    // Telegram sends no timestamp: any `now` and `window` give the same answer.
    let headers = vec![(SECRET_TOKEN.to_owned(), TOKEN.to_owned())];
    let secrets = vec![TOKEN.to_owned()];
    for (now, window) in [(0, 0), (u64::MAX, 0), (1_718_000_000, u64::MAX)] {
        let result = Telegram::verify(&request(&headers, PRIVATE_TEXT), &secrets, now, window);
        assert_eq!(result, Ok(()));
    }
}

#[test]
fn rejections_never_contain_the_token() {
    for rejection in [
        verify(Some("wrong"), &[TOKEN]),
        verify(Some(""), &[TOKEN]),
        verify(None, &[TOKEN]),
        verify(Some("wrong"), &[]),
    ] {
        let rejection = rejection.unwrap_err();
        for text in [rejection.to_string(), format!("{rejection:?}")] {
            assert!(!text.contains(TOKEN), "{text}");
        }
    }
}

// Parsing. Fixtures: tests/fixtures/telegram (sources in tests/fixtures/README.md).

#[test]
fn a_private_text_message() {
    // Fixture: an Update with a Message in a private Chat (Bot API `Update`, `Message`).
    let event = single_event(PRIVATE_TEXT);
    assert_eq!(event.provider_event_id, "483920001");
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.semantic_key.as_deref(), Some("111111111:1365"));
    assert!(event.tenant_keys.is_empty());
    assert_eq!(event.team_id, None);
    assert_eq!(event.app_id, None);
    assert_eq!(event.occurred_at, Some(1_718_000_000));
    assert_eq!(event.text.as_deref(), Some("Hello, bot"));
    assert_eq!(
        event.sender,
        Some(Sender {
            id: "111111111".to_owned(),
            display_name: Some("Ada Lovelace".to_owned()),
            is_bot: false,
        })
    );
    assert_eq!(
        event.conversation,
        Some(Conversation {
            id: "111111111".to_owned(),
            kind: ConversationType::Dm,
            thread_id: None,
        })
    );
    assert!(event.reply_context.is_empty());
    assert_eq!(event.raw, raw(PRIVATE_TEXT));
}

#[test]
fn a_start_command_with_a_deep_link_payload() {
    // Fixture: `/start abc123`, as a deep link (bots/features#deep-linking) delivers it.
    let event = single_event(START_COMMAND);
    assert_eq!(event.kind, Kind::Command);
    assert_eq!(event.text.as_deref(), Some("/start abc123"));
    // No last name: the first name alone, without a trailing space.
    assert_eq!(event.sender.unwrap().display_name.as_deref(), Some("Grace"));
}

#[test]
fn a_forum_topic_message_carries_its_thread() {
    // Fixture: a supergroup forum message with `message_thread_id` (Bot API `Message`).
    let event = single_event(FORUM_TOPIC);
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(
        event.conversation,
        Some(Conversation {
            id: "-1001234567890".to_owned(),
            kind: ConversationType::Channel,
            thread_id: Some("42".to_owned()),
        })
    );
    assert_eq!(event.semantic_key.as_deref(), Some("-1001234567890:2048"));
}

#[test]
fn a_callback_query_is_an_interaction() {
    // Fixture: a CallbackQuery from an inline keyboard button (Bot API `CallbackQuery`).
    let event = single_event(CALLBACK_QUERY);
    assert_eq!(event.provider_event_id, "483920004");
    assert_eq!(event.kind, Kind::Interaction);
    assert_eq!(event.text.as_deref(), Some("vote:yes"));
    assert_eq!(event.sender.unwrap().id, "111111111");
    let conversation = event.conversation.unwrap();
    assert_eq!(conversation.id, "111111111");
    assert_eq!(conversation.kind, ConversationType::Dm);
    assert_eq!(event.semantic_key, None);
    assert_eq!(event.occurred_at, None);
}

#[test]
fn a_callback_query_from_an_inline_message_has_no_conversation() {
    // Vector: the fixture without `message` and with `inline_message_id`, as the Bot API's
    // `CallbackQuery` describes buttons on inline-mode messages.
    let mut update = raw(CALLBACK_QUERY);
    let query = update["callback_query"].as_object_mut().unwrap();
    query.remove("message");
    query.insert("inline_message_id".to_owned(), json!("AQAAAAdxYWJj"));
    let event = single_event(update.to_string().as_bytes());
    assert_eq!(event.kind, Kind::Interaction);
    assert_eq!(event.conversation, None);
}

#[test]
fn an_edited_message_is_a_message_with_its_own_semantic_key() {
    // Fixture: `edited_message` in a basic group (Bot API `Update.edited_message`).
    let event = single_event(EDITED_MESSAGE);
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.text.as_deref(), Some("Meeting moved to 3pm"));
    assert_eq!(event.occurred_at, Some(1_718_000_300));
    assert_eq!(
        event.semantic_key.as_deref(),
        Some("-4012345678:77:edit:1718000300")
    );
    assert_eq!(event.conversation.unwrap().kind, ConversationType::Group);
}

#[test]
fn my_chat_member_is_membership() {
    // Fixture: the bot added to a group (Bot API `ChatMemberUpdated`).
    let event = single_event(MY_CHAT_MEMBER);
    assert_eq!(event.kind, Kind::Membership);
    assert_eq!(event.occurred_at, Some(1_718_000_360));
    assert_eq!(event.sender.unwrap().id, "333333333");
    assert_eq!(event.conversation.unwrap().id, "-4012345678");
    assert_eq!(event.text, None);
    assert_eq!(event.semantic_key, None);
}

#[test]
fn chat_member_is_membership() {
    // Vector: the my_chat_member fixture under the `chat_member` field (same object type).
    let mut update = raw(MY_CHAT_MEMBER);
    let member = update
        .as_object_mut()
        .unwrap()
        .remove("my_chat_member")
        .unwrap();
    update["chat_member"] = member;
    assert_eq!(
        single_event(update.to_string().as_bytes()).kind,
        Kind::Membership
    );
}

#[test]
fn an_update_kind_we_do_not_model_is_other() {
    // Fixture: a `poll_answer` update (Bot API `PollAnswer`).
    let event = single_event(POLL_ANSWER);
    assert_eq!(event.provider_event_id, "483920007");
    assert_eq!(event.kind, Kind::Other);
    assert_eq!(event.sender, None);
    assert_eq!(event.conversation, None);
    assert_eq!(event.text, None);
    assert_eq!(event.raw, raw(POLL_ANSWER));
}

#[test]
fn a_message_reaction_is_a_reaction() {
    // Vector: a `message_reaction` update with the fields of the Bot API's
    // `MessageReactionUpdated` (chat, message_id, user, date, old/new_reaction).
    let update = json!({
        "update_id": 483920008,
        "message_reaction": {
            "chat": {"id": -1001234567890_i64, "title": "Support forum", "type": "supergroup"},
            "message_id": 2048,
            "user": {"id": 111111111, "is_bot": false, "first_name": "Ada"},
            "date": 1718000420,
            "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}]
        }
    });
    let event = single_event(update.to_string().as_bytes());
    assert_eq!(event.kind, Kind::Reaction);
    assert_eq!(event.sender.unwrap().display_name.as_deref(), Some("Ada"));
    assert_eq!(event.conversation.unwrap().id, "-1001234567890");
    assert_eq!(event.occurred_at, Some(1_718_000_420));
}

#[test]
fn a_channel_post_is_sent_by_the_channel() {
    // Vector: a `channel_post` as the Bot API's `Message` describes it: no `from`, the channel
    // in `sender_chat`, a caption instead of text.
    let channel = json!({"id": -1009876543210_i64, "title": "Announcements", "type": "channel"});
    let update = json!({
        "update_id": 483920009,
        "channel_post": {
            "message_id": 12,
            "sender_chat": channel,
            "chat": channel,
            "date": 1718000480,
            "caption": "Release notes attached"
        }
    });
    let event = single_event(update.to_string().as_bytes());
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.text.as_deref(), Some("Release notes attached"));
    assert_eq!(
        event.sender,
        Some(Sender {
            id: "-1009876543210".to_owned(),
            display_name: Some("Announcements".to_owned()),
            is_bot: false,
        })
    );
    assert_eq!(event.conversation.unwrap().kind, ConversationType::Channel);
}

#[test]
fn a_caption_starting_with_a_slash_is_not_a_command() {
    // Vector: the private text fixture with its text moved to `caption`.
    let mut update = raw(PRIVATE_TEXT);
    let message = update["message"].as_object_mut().unwrap();
    message.remove("text");
    message.insert("caption".to_owned(), json!("/start abc"));
    let event = single_event(update.to_string().as_bytes());
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.text.as_deref(), Some("/start abc"));
}

#[test]
fn a_user_without_names_is_shown_by_username() {
    // Vector: a `User` with an empty first name (made up; first_name is required but may be
    // blank after trimming) and a username.
    let update = json!({
        "update_id": 1,
        "message": {
            "message_id": 1,
            "from": {"id": 5, "is_bot": true, "first_name": " ", "username": "some_bot"},
            "chat": {"id": 5, "type": "private"},
            "date": 1,
            "text": "hi"
        }
    });
    let sender = single_event(update.to_string().as_bytes()).sender.unwrap();
    assert_eq!(sender.display_name.as_deref(), Some("some_bot"));
    assert!(sender.is_bot);
}

#[test]
fn a_missing_update_id_is_a_parse_error() {
    let error = Telegram::parse(&request(&[], br#"{"message": {"text": "hi"}}"#)).unwrap_err();
    assert_eq!(error.reason, "missing integer field update_id");
    let error = Telegram::parse(&request(&[], br#"{"update_id": "1"}"#)).unwrap_err();
    assert_eq!(error.reason, "missing integer field update_id");
}

#[test]
fn a_body_that_is_not_json_is_a_parse_error() {
    let error = Telegram::parse(&request(&[], b"update_id=1")).unwrap_err();
    assert!(
        error.reason.starts_with("body is not JSON"),
        "{}",
        error.reason
    );
}
