//! The mixed phases: text messages from every provider in turn, built as each provider sends
//! them ([`channel_edge::core::ingress::sample`]) and signed with the dev dataset's secrets
//! ([`channel_edge::core::ingress::sign`]), to the webhook URL of each provider's dev profile or
//! installation; and which of them the stand-in runtime refuses once ([`faulted`]).

use channel_edge::core::ingress::sample::{
    conversation_of, dataset_secret, default_sender, payload, Message,
};
use channel_edge::core::ingress::sign::{self, Stamp};
use channel_edge::core::tenancy::Provider;
use channel_edge_e2e::fake::{Answer, FakeServer};
use channel_edge_e2e::seed;
use channel_edge_e2e::wrangler::WranglerDev;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Where and with what each provider's messages are sent.
pub struct Mixed {
    /// Per provider that receives webhooks, in [`Provider::ALL`] order: the webhook URL and the
    /// signing secret.
    targets: Vec<(Provider, String, String)>,
}

/// One request of the mixed phase.
pub struct MixedRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What the envelope's `provider_event_id` will be.
    pub event_id: String,
}

impl Mixed {
    /// The targets in `worker`, whose dev dataset was loaded with `ids` (ref → id).
    pub fn new(worker: &WranglerDev, ids: &seed::Ids) -> Result<Self, String> {
        let dataset = seed::dataset();
        let targets = Provider::ALL
            .into_iter()
            .filter(|provider| provider.receives_webhooks())
            .map(|provider| {
                // The secret's holder is what the provider's webhook path names.
                let secret = dataset_secret(&dataset, provider).ok_or(format!(
                    "no {} secret in the dev dataset",
                    provider.as_str()
                ))?;
                let id = ids
                    .get(&secret.holder)
                    .ok_or(format!("{} was not seeded", secret.holder))?;
                let url = worker.url(&format!("/webhooks/{}/{id}", provider.as_str()));
                Ok((provider, url, secret.value))
            })
            .collect::<Result<_, String>>()?;
        Ok(Mixed { targets })
    }

    /// Event `i` (its provider is the `i`-th in turn) as sent at `now`.
    pub fn request(&self, i: usize, now: u64) -> Result<MixedRequest, String> {
        let (provider, url, secret) = &self.targets[i % self.targets.len()];
        let from = default_sender(*provider);
        let conversation = conversation_of(*provider, from, None);
        let message = Message {
            text: "load",
            from,
            conversation: &conversation,
            now,
            nonce: nonce(i),
        };
        let payload = payload(*provider, &message);
        let stamp = Stamp {
            timestamp: now,
            message_id: &payload.event_id,
            url,
        };
        let mut headers =
            sign::headers(*provider, secret, stamp, &payload.body).map_err(|e| e.to_string())?;
        headers.push(("content-type".into(), "application/json".into()));
        Ok(MixedRequest {
            url: url.clone(),
            headers,
            body: payload.body,
            event_id: payload.event_id,
        })
    }
}

/// The nonce of event `i`: every id a payload derives from it differs between events of one run
/// (`i` itself in the high and the low half; multiplying by 2³² + 1, which is prime to 10 and
/// to 8, keeps `nonce % 10⁶` and `nonce % 8·10⁸` apart too).
pub fn nonce(i: usize) -> u64 {
    let i = i as u64;
    (i << 32) | i
}

/// Whether the stand-in runtime refuses the first delivery of the event with this provider event
/// id: about one in five (by an FNV-1a hash of the id, so every provider has some, and the
/// runtime needs no list made in advance).
pub fn faulted(event_id: &str) -> bool {
    let hash = event_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    hash % 5 == 0
}

/// Makes `runtime` answer 500 to the first delivery of each [`faulted`] envelope, and 200 to
/// everything else.
pub fn inject_faults(runtime: &FakeServer) {
    let refused: Arc<Mutex<HashSet<String>>> = Arc::default();
    runtime.respond_to_body("/inbound", move |body, _| {
        let envelope: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let id = envelope["provider_event_id"].as_str().unwrap_or_default();
        let first = faulted(id) && refused.lock().unwrap().insert(id.to_owned());
        if first {
            Answer::json(500, json!({"error": "injected by the load test"}))
        } else {
            Answer::json(200, json!({}))
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_keep_every_derived_id_apart() {
        let n = 100_000;
        let distinct =
            |f: &dyn Fn(u64) -> u64| (0..n).map(|i| f(nonce(i))).collect::<HashSet<_>>().len();
        assert_eq!(distinct(&|x| x & 0xFFFF_FFFF), n, "Slack event ids");
        assert_eq!(distinct(&|x| x % 1_000_000), n, "Slack ts");
        assert_eq!(distinct(&|x| x % 800_000_000), n, "Telegram update ids");
        assert_eq!(
            distinct(&|x| (x >> 32) % 1_000_000),
            n,
            "Telegram message ids"
        );
        assert_eq!(distinct(&|x| x & 0x3F_FFFF), n, "Discord snowflakes");
    }

    #[test]
    fn about_one_in_five_is_faulted() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("Ev0CLI{i:08X}")).collect();
        let share = ids.iter().filter(|id| faulted(id)).count() as f64 / ids.len() as f64;
        assert!((0.17..0.23).contains(&share), "{share}");
        assert_eq!(
            faulted("wamid.X"),
            faulted("wamid.X"),
            "the same answer every time"
        );
    }
}
