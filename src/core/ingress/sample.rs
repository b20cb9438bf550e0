//! Realistic webhook payloads as each provider sends them, for the callers that play the
//! provider: the admin CLI's `webhook` command and the load tools. Native only, like [`super::sign`].
//!
//! # What's in scope
//! - [`payload`]: a text message for each provider from a sender in a conversation, with event
//!   ids made fresh by a nonce; the defaults ([`default_sender`], [`conversation_of`]) are the dev
//!   dataset's allowed senders and tenants (`seed/dev-dataset.json`, constants in [`dev`]).
//! - [`dataset_secret`]: the secret a provider signs with in the dev dataset (an app profile's
//!   secret for Slack, WhatsApp and Discord, an installation's credential for Telegram and
//!   Standard Webhooks).
//!
//! # What's out of scope
//! Signing ([`super::sign`]), sending, reading files, the clock and the RNG (`now` and `nonce`
//! are arguments).

use crate::core::rfc3339;
use crate::core::tenancy::{Provider, SecretOwner};
use serde_json::{json, Value};

/// What the dev dataset holds, for the default messages: apps, tenants and allowed senders
/// (the tests check them against `seed/dev-dataset.json`).
pub mod dev {
    pub const SLACK_APP: &str = "A0DEVPLATFORM";
    pub const SLACK_TEAM: &str = "T0DEVACME";
    pub const SLACK_USER: &str = "U0DEVALICE";
    pub const SLACK_CHANNEL: &str = "C0DEVGENERAL";
    pub const TELEGRAM_USER: &str = "424242";
    pub const WHATSAPP_USER: &str = "15550002222";
    pub const WHATSAPP_WABA: &str = "120000000000001";
    pub const WHATSAPP_NUMBER_ID: &str = "110000000000001";
    pub const WHATSAPP_NUMBER: &str = "15550001111";
    pub const DISCORD_APP: &str = "1200000000000000001";
    pub const DISCORD_GUILD: &str = "1300000000000000001";
    pub const DISCORD_CHANNEL: &str = "1400000000000000001";
    pub const DISCORD_USER: &str = "1500000000000000001";
    pub const STANDARD_SENDER: &str = "dev-sender";
    pub const STANDARD_CONVERSATION: &str = "dev-conversation";
    pub const LINE_USER: &str = "U0de0000000000000000000000000a11c";
    pub const MESSENGER_PAGE: &str = "100000000000001";
    pub const MESSENGER_USER: &str = "7100000000000001";
    pub const INSTAGRAM_ACCOUNT: &str = "17841400000000001";
    pub const INSTAGRAM_USER: &str = "7200000000000001";
    pub const LINEAR_ORGANIZATION: &str = "5c9e3b8a-0d6e-4c4f-9a51-7e0b4b0de001";
    pub const LINEAR_USER: &str = "aacdca22-6266-4c0a-ab3c-8fa70a26765c";
    pub const LINEAR_ISSUE: &str = "539068e2-ae88-4d09-bd75-22eb4a59612f";
    pub const GITHUB_INSTALLATION: &str = "41000001";
    pub const GITHUB_USER: &str = "21031067";
    pub const GITHUB_ISSUE: &str = "acme-dev/support#1";
    pub const TWILIO_ACCOUNT: &str = "AC0de00000000000000000000000000001";
    pub const TWILIO_NUMBER: &str = "+15550004444";
    pub const TWILIO_USER: &str = "+15550005555";
    pub const TEAMS_APP: &str = "0de0a11c-0000-4000-8000-000000000001";
    pub const TEAMS_TENANT: &str = "0de07e4a-0000-4000-8000-000000000001";
    pub const TEAMS_USER: &str = "29:1dev-alice";
    pub const TEAMS_CHAT: &str = "a:1dev-alice-personal-chat";
    /// The service URL of the dev dataset's Teams installation: the `dev-providers` stand-in
    /// (`scripts/run.sh --fake-providers`).
    pub const TEAMS_SERVICE_URL: &str = "http://127.0.0.1:8791/teams/amer/";
    pub const GOOGLE_CHAT_PROJECT: &str = "100000000001";
    pub const GOOGLE_CHAT_SPACE: &str = "spaces/AAAAdevspace";
    pub const GOOGLE_CHAT_USER: &str = "users/100000000000000000001";
    pub const EMAIL_ADDRESS: &str = "support@acme.example";
    pub const EMAIL_USER: &str = "alice@customer.example";
    /// The dev key set's private key (`seed/DEV-ONLY-jwt-signing-key.pem`): the tools sign
    /// Teams and Google Chat tokens with it; `seed/dev-jwt-key-set.json` is its public half,
    /// which the dev-providers stand-in serves as both platforms' key sets.
    pub const JWT_SIGNING_KEY_PEM: &str =
        include_str!("../../../seed/DEV-ONLY-jwt-signing-key.pem");
    /// The key id of that key in the key set.
    pub const JWT_KEY_ID: &str = "channel-edge-dev";
}

/// Discord's epoch, 2015-01-01T00:00:00Z, in Unix milliseconds (snowflake ids count from it).
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// The sender of a message when `--from` is not given: one the dev dataset's binding allows.
pub fn default_sender(provider: Provider) -> &'static str {
    match provider {
        Provider::Slack => dev::SLACK_USER,
        Provider::Telegram => dev::TELEGRAM_USER,
        Provider::Whatsapp => dev::WHATSAPP_USER,
        Provider::Discord => dev::DISCORD_USER,
        Provider::Standard => dev::STANDARD_SENDER,
        Provider::Line => dev::LINE_USER,
        Provider::Messenger => dev::MESSENGER_USER,
        Provider::Instagram => dev::INSTAGRAM_USER,
        Provider::Linear => dev::LINEAR_USER,
        Provider::Github => dev::GITHUB_USER,
        Provider::Twilio => dev::TWILIO_USER,
        Provider::Teams => dev::TEAMS_USER,
        Provider::GoogleChat => dev::GOOGLE_CHAT_USER,
        Provider::Email => dev::EMAIL_USER,
    }
}

/// The conversation of a message from `from`: `conversation` if given, else the dev dataset's
/// channel (Slack, Discord, Standard Webhooks) or the sender's own chat (Telegram, WhatsApp).
pub fn conversation_of(provider: Provider, from: &str, conversation: Option<&str>) -> String {
    let default = match provider {
        Provider::Slack => dev::SLACK_CHANNEL,
        Provider::Telegram
        | Provider::Whatsapp
        | Provider::Line
        | Provider::Messenger
        | Provider::Instagram
        | Provider::Twilio
        | Provider::Email => from,
        Provider::Linear => dev::LINEAR_ISSUE,
        Provider::Github => dev::GITHUB_ISSUE,
        Provider::Teams => dev::TEAMS_CHAT,
        Provider::GoogleChat => dev::GOOGLE_CHAT_SPACE,
        Provider::Discord => dev::DISCORD_CHANNEL,
        Provider::Standard => dev::STANDARD_CONVERSATION,
    };
    conversation.unwrap_or(default).to_owned()
}

/// What a message built for `provider` is by default, for the usage text.
pub fn defaults(provider: Provider) -> String {
    let from = default_sender(provider);
    let conversation = conversation_of(provider, from, None);
    match provider {
        Provider::Slack => format!("from {from} in {conversation} of team {}", dev::SLACK_TEAM),
        Provider::Telegram => format!("from {from} in its private chat"),
        Provider::Whatsapp => format!(
            "from {from} to phone_number_id {} (no --conversation)",
            dev::WHATSAPP_NUMBER_ID
        ),
        Provider::Discord => format!(
            "/ask text:<text> from {from} in {conversation} of guild {}",
            dev::DISCORD_GUILD
        ),
        Provider::Standard => format!("from {from} in {conversation}"),
        Provider::Line => format!("from {from} in its one-to-one chat"),
        Provider::Messenger => format!("from {from} to page {}", dev::MESSENGER_PAGE),
        Provider::Instagram => format!("from {from} to account {}", dev::INSTAGRAM_ACCOUNT),
        Provider::Linear => format!(
            "a comment by {from} on issue {conversation} of workspace {}",
            dev::LINEAR_ORGANIZATION
        ),
        Provider::Github => format!(
            "an issue comment by user {from} on {conversation} (App installation {})",
            dev::GITHUB_INSTALLATION
        ),
        Provider::Twilio => format!("an SMS from {from} to {}", dev::TWILIO_NUMBER),
        Provider::Teams => format!(
            "from {from} in the personal chat {conversation} of tenant {}",
            dev::TEAMS_TENANT
        ),
        Provider::GoogleChat => format!("from {from} in {conversation}"),
        Provider::Email => format!("a message from {from} to {}", dev::EMAIL_ADDRESS),
    }
}

/// A text message to build, with what changes from one send to the next.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub text: &'a str,
    pub from: &'a str,
    pub conversation: &'a str,
    /// Unix seconds.
    pub now: u64,
    /// Random bits that make the event ids fresh.
    pub nonce: u64,
}

/// A body to send, and the provider's id of the event it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub body: Vec<u8>,
    /// Slack `event_id`, Telegram `update_id`, WhatsApp `wamid`, Discord interaction id, or the
    /// Standard Webhooks `webhook-id`.
    pub event_id: String,
}

/// `message` as `provider` delivers a text message (Discord, which delivers no plain messages to
/// an interactions endpoint: the slash command `/ask text:<text>`).
pub fn payload(provider: Provider, message: &Message<'_>) -> Payload {
    let (event_id, body) = match provider {
        Provider::Slack => slack_event(message),
        Provider::Telegram => telegram_update(message),
        Provider::Whatsapp => whatsapp_notification(message),
        Provider::Discord => discord_command(message),
        Provider::Standard => standard_message(message),
        Provider::Line => line_event(message),
        Provider::Messenger => meta_message("page", dev::MESSENGER_PAGE, message),
        Provider::Instagram => meta_message("instagram", dev::INSTAGRAM_ACCOUNT, message),
        Provider::Linear => linear_comment(message),
        Provider::Github => github_comment(message),
        Provider::Twilio => twilio_sms(message),
        Provider::Teams => teams_activity(message),
        Provider::GoogleChat => google_chat_event(message),
        Provider::Email => email_message(message),
    };
    // A form (Twilio's) is sent as it is; JSON is serialised.
    let body = match body {
        Value::String(form) => form.into_bytes(),
        json => json.to_string().into_bytes(),
    };
    Payload { body, event_id }
}

/// An Events API `event_callback` carrying a `message` event.
fn slack_event(message: &Message<'_>) -> (String, Value) {
    let event_id = format!("Ev0CLI{:08X}", message.nonce & 0xFFFF_FFFF);
    let ts = format!("{}.{:06}", message.now, message.nonce % 1_000_000);
    let event = json!({
        "type": "message", "channel": message.conversation,
        "channel_type": slack_channel_type(message.conversation), "user": message.from,
        "text": message.text, "ts": ts, "event_ts": ts,
    });
    let body = json!({
        "token": "unused", "team_id": dev::SLACK_TEAM, "api_app_id": dev::SLACK_APP,
        "event": event, "type": "event_callback", "event_id": event_id,
        "event_time": message.now,
    });
    (event_id, body)
}

/// Slack's channel type by the id's first letter: `D` a DM, `G` a private group.
fn slack_channel_type(channel: &str) -> &'static str {
    match channel.chars().next() {
        Some('D') => "im",
        Some('G') => "group",
        _ => "channel",
    }
}

/// An `Update` with a text `message`: a private chat when the chat is the sender, a supergroup
/// for a negative chat id, a group otherwise.
fn telegram_update(message: &Message<'_>) -> (String, Value) {
    let update_id = 100_000_000 + message.nonce % 800_000_000;
    let chat_type = match message.conversation {
        chat if chat == message.from => "private",
        chat if chat.starts_with('-') => "supergroup",
        _ => "group",
    };
    let body = json!({"update_id": update_id, "message": {
        "message_id": 1 + (message.nonce >> 32) % 1_000_000, "date": message.now,
        "from": {"id": telegram_id(message.from), "is_bot": false, "first_name": "Dev"},
        "chat": {"id": telegram_id(message.conversation), "type": chat_type, "title": "Dev"},
        "text": message.text,
    }});
    (update_id.to_string(), body)
}

/// A Telegram id as the integer it is (checked by [`check_ids`]).
fn telegram_id(id: &str) -> Value {
    id.parse::<i64>()
        .map_or_else(|_| Value::from(id), Value::from)
}

/// A Cloud API `messages` notification with one text message to the dev dataset's number.
fn whatsapp_notification(message: &Message<'_>) -> (String, Value) {
    let wamid = format!("wamid.CLI{:016X}", message.nonce);
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": dev::WHATSAPP_NUMBER,
                     "phone_number_id": dev::WHATSAPP_NUMBER_ID},
        "contacts": [{"profile": {"name": "Dev"}, "wa_id": message.from}],
        "messages": [{"from": message.from, "id": wamid, "timestamp": message.now.to_string(),
                      "text": {"body": message.text}, "type": "text"}],
    });
    let body = json!({"object": "whatsapp_business_account", "entry": [{
        "id": dev::WHATSAPP_WABA, "changes": [{"field": "messages", "value": value}]}]});
    (wamid, body)
}

/// An `APPLICATION_COMMAND` interaction, `/ask text:<text>`, in a channel of the dev guild.
fn discord_command(message: &Message<'_>) -> (String, Value) {
    let millis = message.now.saturating_mul(1000);
    let snowflake = (millis.saturating_sub(DISCORD_EPOCH_MS) << 22) | (message.nonce & 0x3F_FFFF);
    let id = snowflake.to_string();
    let body = json!({
        "id": id, "application_id": dev::DISCORD_APP, "type": 2, "version": 1,
        "token": format!("cli-{:016x}", message.nonce), "guild_id": dev::DISCORD_GUILD,
        "channel_id": message.conversation, "channel": {"id": message.conversation, "type": 0},
        "member": {"user": {"id": message.from, "username": "dev", "global_name": "Dev"}},
        "data": {"id": "1600000000000000001", "name": "ask", "type": 1,
                 "options": [{"name": "text", "type": 3, "value": message.text}]},
    });
    (id, body)
}

/// A webhook with one text `message` event: in the sender's one-to-one chat when the
/// conversation is the sender, else in a group (`C…`) or room (`R…`).
fn line_event(message: &Message<'_>) -> (String, Value) {
    let event_id = format!("01CLI{:021X}", message.nonce);
    let source = match message.conversation {
        chat if chat == message.from => json!({"type": "user", "userId": message.from}),
        chat if chat.starts_with('R') => {
            json!({"type": "room", "roomId": chat, "userId": message.from})
        }
        chat => json!({"type": "group", "groupId": chat, "userId": message.from}),
    };
    let body = json!({"destination": "U0de0000000000000000000000000b07", "events": [{
        "type": "message", "mode": "active", "timestamp": message.now.saturating_mul(1000),
        "source": source, "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": false},
        "replyToken": format!("cli{:016x}", message.nonce),
        "message": {"id": (message.nonce % 1_000_000_000_000_000).to_string(), "type": "text",
                    "quoteToken": format!("q{:016x}", message.nonce), "text": message.text},
    }]});
    (event_id, body)
}

/// A Messenger (`page`) or Instagram (`instagram`) webhook with one text message to `account`.
fn meta_message(object: &str, account: &str, message: &Message<'_>) -> (String, Value) {
    let mid = format!("m_CLI{:016X}", message.nonce);
    let millis = message.now.saturating_mul(1000);
    let body = json!({"object": object, "entry": [{"id": account, "time": millis,
        "messaging": [{"sender": {"id": message.from}, "recipient": {"id": account},
                       "timestamp": millis, "message": {"mid": mid, "text": message.text}}]}]});
    (mid, body)
}

/// A `Comment` `create` webhook on the issue the conversation names; its event id is the
/// `Linear-Delivery` header.
fn linear_comment(message: &Message<'_>) -> (String, Value) {
    let comment = format!("c0c0{:028x}", message.nonce);
    let at = rfc3339::text(message.now);
    let body = json!({"action": "create", "type": "Comment",
        "actor": {"id": message.from, "name": "Dev", "type": "user"},
        "data": {"id": comment, "body": message.text, "issueId": message.conversation,
                 "userId": message.from, "createdAt": at, "updatedAt": at},
        "organizationId": dev::LINEAR_ORGANIZATION, "webhookId": "dev-linear-webhook",
        "webhookTimestamp": message.now.saturating_mul(1000)});
    (message_id(message.nonce), body)
}

/// An `issue_comment` `created` delivery on the issue `owner/repo#number` the conversation
/// names; its event id is `<hook id>:<delivery id>` ([`GITHUB_HOOK`], and a Standard
/// Webhooks-like message id as the delivery).
fn github_comment(message: &Message<'_>) -> (String, Value) {
    let (repository, number) = message
        .conversation
        .split_once('#')
        .unwrap_or((message.conversation, "1"));
    let number: u64 = number.parse().unwrap_or(1);
    let user =
        json!({"login": "dev", "id": message.from.parse::<u64>().unwrap_or(0), "type": "User"});
    let body = json!({"action": "created",
        "issue": {"number": number, "title": "Dev issue", "user": user},
        "comment": {"id": 900_000_000 + message.nonce % 100_000_000, "body": message.text,
                    "user": user, "created_at": rfc3339::text(message.now)},
        "repository": {"id": 186_853_002, "full_name": repository},
        "sender": user,
        "installation": {"id": dev::GITHUB_INSTALLATION.parse::<u64>().unwrap_or(0)}});
    let delivery = message_id(message.nonce);
    (format!("{GITHUB_HOOK}:{delivery}"), body)
}

/// An incoming SMS as Twilio posts it (a form), from the sender to the dev dataset's number.
fn twilio_sms(message: &Message<'_>) -> (String, Value) {
    let sid = format!("SM{:032x}", u128::from(message.nonce));
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("ToCountry", "US")
        .append_pair("SmsMessageSid", &sid)
        .append_pair("NumMedia", "0")
        .append_pair("SmsSid", &sid)
        .append_pair("SmsStatus", "received")
        .append_pair("Body", message.text)
        .append_pair("To", dev::TWILIO_NUMBER)
        .append_pair("NumSegments", "1")
        .append_pair("MessageSid", &sid)
        .append_pair("AccountSid", dev::TWILIO_ACCOUNT)
        .append_pair("From", message.from)
        .append_pair("ApiVersion", "2010-04-01")
        .finish();
    (sid, Value::String(form))
}

/// A Teams `message` activity in a personal chat (or the channel `conversation` names).
fn teams_activity(message: &Message<'_>) -> (String, Value) {
    let id = format!("{}", 1_700_000_000_000 + message.nonce % 100_000_000_000);
    let kind = if message.conversation.starts_with("19:") {
        "channel"
    } else {
        "personal"
    };
    let body = json!({
        "type": "message", "id": id, "timestamp": rfc3339::text(message.now),
        "serviceUrl": dev::TEAMS_SERVICE_URL, "channelId": "msteams",
        "from": {"id": message.from, "name": "Alice (dev)"},
        "conversation": {"id": message.conversation, "conversationType": kind,
                         "tenantId": dev::TEAMS_TENANT},
        "recipient": {"id": format!("28:{}", dev::TEAMS_APP), "name": "channel-edge dev"},
        "text": message.text, "textFormat": "plain",
        "channelData": {"tenant": {"id": dev::TEAMS_TENANT}},
    });
    (id, body)
}

/// A Google Chat `MESSAGE` event in a space, in a thread of its own.
fn google_chat_event(message: &Message<'_>) -> (String, Value) {
    let space = message.conversation;
    let name = format!("{space}/messages/dev{:016x}", message.nonce);
    let body = json!({
        "type": "MESSAGE", "eventTime": rfc3339::text(message.now),
        "space": {"name": space, "spaceType": "SPACE"},
        "message": {"name": name, "text": message.text, "argumentText": message.text,
                    "sender": {"name": message.from, "displayName": "Alice (dev)", "type": "HUMAN"},
                    "thread": {"name": format!("{space}/threads/dev{:016x}", message.nonce)},
                    "createTime": rfc3339::text(message.now)},
        "user": {"name": message.from, "displayName": "Alice (dev)", "type": "HUMAN"},
    });
    (name, body)
}

/// A plain-text message to the dev dataset's address, with the `Authentication-Results`
/// Cloudflare's mail servers prepend (DMARC passed), as a string: sent as it is.
fn email_message(message: &Message<'_>) -> (String, Value) {
    let id = format!("<dev{:016x}@customer.example>", message.nonce);
    let domain = message
        .from
        .rsplit_once('@')
        .map_or("customer.example", |(_, d)| d);
    let raw = format!(
        "Authentication-Results: mx.cloudflare.net;\r\n\tdkim=pass header.d={domain} header.s=dev;\r\n\tdmarc=pass header.from={domain} policy.dmarc=reject;\r\n\tspf=pass smtp.mailfrom={from}\r\n\
         From: Alice <{from}>\r\nTo: {to}\r\nSubject: Help\r\nMessage-ID: {id}\r\n\
         Date: {date}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n",
        from = message.from,
        to = dev::EMAIL_ADDRESS,
        date = crate::core::mime::date(message.now),
        text = message.text,
    );
    (id, Value::String(raw))
}

/// The `X-GitHub-Hook-ID` the CLI and tools send.
pub const GITHUB_HOOK: &str = "109948940";

/// The body the Standard Webhooks parser reads: `type`, `text`, `sender.id`,
/// `conversation.id`; the event id is the `webhook-id` header.
fn standard_message(message: &Message<'_>) -> (String, Value) {
    let body = json!({"type": "message", "text": message.text,
        "sender": {"id": message.from}, "conversation": {"id": message.conversation}});
    (message_id(message.nonce), body)
}

/// A Standard Webhooks message id (`webhook-id`).
pub fn message_id(nonce: u64) -> String {
    format!("msg_{nonce:016x}")
}

/// Where Teams and Google Chat requests are signed from: the dev key set's private key, a file
/// beside the dataset rather than a secret in it.
const JWT_SIGNING_KEY: &str = "DEV-ONLY-jwt-signing-key.pem";

/// A secret found in the dev dataset, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSecret {
    /// The `ref` of the app profile or installation that holds it.
    pub holder: String,
    /// Its name there.
    pub name: &'static str,
    pub value: String,
}

/// Where the dev dataset keeps the secret `provider` signs with: who holds it, its name, and
/// the JSON pointer within the holder. Discord verifies with the app's public key but signs with
/// its private seed, which only the dev dataset holds, beside the profile's secrets.
pub fn dataset_location(provider: Provider) -> (SecretOwner, &'static str, String) {
    const DISCORD_SEED: &str = "_signing_key_seed_hex";
    if matches!(provider.spec().verify, super::Verification::Jwt(_)) {
        let file = format!("seed/{JWT_SIGNING_KEY}");
        return (SecretOwner::Profile, JWT_SIGNING_KEY, file);
    }
    if provider == Provider::Discord {
        return (
            SecretOwner::Profile,
            DISCORD_SEED,
            format!("/{DISCORD_SEED}"),
        );
    }
    let (owner, name) = provider.spec().verified_with;
    let within = match owner {
        SecretOwner::Profile => "secrets",
        SecretOwner::Installation => "credentials",
    };
    (owner, name, format!("/{within}/{name}"))
}

pub fn owner_label(owner: SecretOwner) -> &'static str {
    match owner {
        SecretOwner::Profile => "app profile",
        SecretOwner::Installation => "installation",
    }
}

/// The secret `provider` signs with in `dataset`: that of its first app profile (Slack,
/// WhatsApp, Discord) or of the first installation of one (Telegram, Standard Webhooks) holding
/// it.
pub fn dataset_secret(dataset: &Value, provider: Provider) -> Option<DatasetSecret> {
    let (owner, name, pointer) = dataset_location(provider);
    if name == JWT_SIGNING_KEY {
        // Signed by the dev key set's key, whoever the app profile is.
        let profile =
            section(dataset, "app_profiles").find(|p| p["provider"] == provider.as_str())?;
        return Some(DatasetSecret {
            holder: profile["ref"].as_str()?.to_owned(),
            name,
            value: dev::JWT_SIGNING_KEY_PEM.to_owned(),
        });
    }
    let profiles: Vec<&Value> = section(dataset, "app_profiles")
        .filter(|profile| profile["provider"] == provider.as_str())
        .collect();
    let holders: Vec<&Value> = match owner {
        SecretOwner::Profile => profiles,
        SecretOwner::Installation => section(dataset, "installations")
            .filter(|item| profiles.iter().any(|p| p["ref"] == item["app_profile"]))
            .collect(),
    };
    holders.into_iter().find_map(|holder| {
        Some(DatasetSecret {
            holder: holder["ref"].as_str()?.to_owned(),
            name,
            value: holder.pointer(&pointer)?.as_str()?.to_owned(),
        })
    })
}

fn section<'a>(dataset: &'a Value, name: &str) -> impl Iterator<Item = &'a Value> {
    dataset[name].as_array().into_iter().flatten()
}
