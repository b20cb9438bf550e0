//! The `Conversation` Durable Object: one per installation and conversation, the only sender
//! into it. A thin shell over [`crate::core::outbound::conversation`].
//!
//! Commands from the messages API ([`call`]) change the stored queue and arm the alarm; the
//! alarm makes at most one provider call per run and arms itself again while there is work.
//! Before each call the installation and binding are read again (through the directory's
//! 30-second cache): when either was revoked, every message still waiting is dropped, counted
//! once per revocation with one ledger entry. The installation's credential is opened only
//! here, for the call. Every change of a message's status is mirrored to its D1 receipt; a
//! dead-lettered message also gets a `message.dead_lettered` ledger entry. The queue is stored
//! before each call, so an eviction loses nothing: a call cut short is found on the next load.

use crate::core::api_error::ApiError;
use crate::core::audit::Event;
use crate::core::markdown::render_parts;
use crate::core::markdown::Format;
use crate::core::metrics::{Increment, Metric};
use crate::core::outbound::conversation::Behaviour;
use crate::core::outbound::conversation::{
    metric_outcomes, Call, CommandError, Conversation as Queue, NewQueued, Next, Op, Outcome,
    Receipt,
};
use crate::core::outbound::email::MAILTO;
use crate::core::outbound::{
    behaviour, max_text, sender_of, Answer, Context, Failure, HttpCall, Sender, Status, Target,
};
use crate::core::reply;
use crate::core::tenancy::{self, credential_source, CredentialSource};
use crate::core::webhook::{current_secret, Binding, Installation};
use crate::edge::app_tokens;
use crate::edge::email;
use crate::edge::http::{self, SendError};
use crate::edge::limiter;
use crate::edge::runtime;
use crate::edge::store::secrets::key_ring;
use crate::edge::store::{d1, directory, ledger, messages, metrics};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::time::Duration;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

/// Storage key of the queue.
const QUEUE_KEY: &str = "queue";
/// How long a provider has to answer one call.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// A command from the messages API to a conversation's object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Queue a new message (a message already queued is left as it is).
    Enqueue {
        /// The message.
        message: NewQueued,
    },
    /// Replace a message's text.
    Edit {
        /// The message.
        id: String,
        /// The new text.
        text: String,
        /// False while it streams.
        is_final: bool,
    },
    /// Delete a message.
    Delete {
        /// The message.
        id: String,
    },
}

/// Sends `command` to the object of conversation `key` and returns the message's receipt.
pub async fn call(env: &Env, key: &str, command: &Command) -> std::result::Result<Value, ApiError> {
    let stub = env
        .durable_object("CONVERSATIONS")
        .and_then(|namespace| namespace.get_by_name(key))
        .map_err(d1::internal)?;
    let body = serde_json::to_string(command).map_err(d1::internal)?;
    let mut init = worker::RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let request =
        Request::new_with_init("https://conversation/command", &init).map_err(d1::internal)?;
    let mut response = stub
        .fetch_with_request(request)
        .await
        .map_err(d1::internal)?;
    let value: Value = response.json().await.map_err(d1::internal)?;
    let message = || {
        crate::core::json::at(&value, "/error/message")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    match response.status_code() {
        200 => Ok(value.clone()),
        409 => Err(ApiError::Conflict { message: message() }),
        429 => Err(CommandError::Full.into()),
        _ => Err(d1::internal(format!("conversation {key}: {}", message()))),
    }
}

#[durable_object]
pub struct Conversation {
    state: State,
    env: Env,
    /// The queue, once loaded.
    queue: RefCell<Option<Queue>>,
}

impl DurableObject for Conversation {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            queue: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let command: Command = req.json().await?;
        match self.command(command).await {
            Ok(receipt) => Response::from_json(&receipt_json(&receipt)),
            Err(error) => Ok(Response::from_json(&error.body())?.with_status(error.status())),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        if let Err(error) = self.run().await {
            worker::console_error!("conversation: {error}");
            self.state
                .storage()
                .set_alarm(Duration::from_secs(5))
                .await?;
        }
        Response::ok("done")
    }
}

/// A receipt as the object answers it (the API adds what D1 knows).
fn receipt_json(receipt: &Receipt) -> Value {
    json!({
        "id": receipt.id,
        "status": receipt.status.as_str(),
        "final": receipt.is_final,
        "provider_message_ids": receipt.provider_ids,
        "attempts": receipt.attempts,
        "failure_code": receipt.failure.as_ref().map(|f| &f.code),
        "failure_reason": receipt.failure.as_ref().map(|f| &f.reason),
    })
}

impl Conversation {
    async fn command(&self, command: Command) -> std::result::Result<Receipt, ApiError> {
        let now = runtime::now_millis();
        self.load(now).await?;
        let receipt = self.with_queue(|queue| match command {
            Command::Enqueue { message } => queue.enqueue(message, now),
            Command::Edit { id, text, is_final } => queue.edit(&id, text, is_final, now),
            Command::Delete { id } => queue.delete(&id, now),
        })?;
        self.persist().await?;
        self.arm(now).await?;
        Ok(receipt)
    }

    /// Changes the queue in memory, synchronously: every change goes through here, and none
    /// works on a copy across an `await` (a provider call lets other requests in, whose changes
    /// a stale copy written back would lose).
    fn with_queue<R>(&self, change: impl FnOnce(&mut Queue) -> R) -> R {
        let mut slot = self.queue.borrow_mut();
        change(slot.get_or_insert_with(Queue::default))
    }

    /// Loads the queue from storage once per instance, recovering a call cut short by an
    /// eviction.
    async fn load(&self, now: u64) -> std::result::Result<(), ApiError> {
        if self.queue.borrow().is_some() {
            return Ok(());
        }
        let stored: Option<Queue> = self
            .state
            .storage()
            .get(QUEUE_KEY)
            .await
            .map_err(d1::internal)?;
        if self.queue.borrow().is_some() {
            return Ok(());
        }
        let mut queue = stored.unwrap_or_default();
        let changed = queue.recover(now);
        self.queue.replace(Some(queue));
        if !changed.is_empty() {
            self.persist().await?;
            self.mirror(&changed).await;
        }
        Ok(())
    }

    /// Stores the queue as it is in memory now.
    async fn persist(&self) -> std::result::Result<(), ApiError> {
        let Some(queue) = self.queue.borrow().clone() else {
            return Ok(());
        };
        self.state
            .storage()
            .put(QUEUE_KEY, &queue)
            .await
            .map_err(d1::internal)
    }

    /// What to do next, for the queue's provider; `None` for an empty queue.
    fn next(&self, now: u64) -> Option<(Next, Provider)> {
        self.with_queue(|queue| {
            let provider = Provider::of(queue)?;
            let next = queue.next(now, &provider.render(), provider.behaviour);
            Some((next, provider))
        })
    }

    /// Arms the alarm for the next thing to do, if any.
    async fn arm(&self, now: u64) -> std::result::Result<(), ApiError> {
        let at = match self.next(now) {
            Some((Next::Call(_), _)) => now,
            Some((Next::At(at), _)) => at,
            Some((Next::Idle, _)) | None => return Ok(()),
        };
        self.wake_at(at, now).await
    }

    async fn wake_at(&self, at: u64, now: u64) -> std::result::Result<(), ApiError> {
        let delay = Duration::from_millis(at.saturating_sub(now));
        self.state
            .storage()
            .set_alarm(delay)
            .await
            .map_err(d1::internal)
    }

    /// One alarm: tidy the queue, make the call that is due (if any), and arm the next alarm.
    async fn run(&self) -> std::result::Result<(), ApiError> {
        let now = runtime::now_millis();
        self.load(now).await?;
        self.with_queue(|queue| queue.tidy(now));
        if let Some((Next::Call(call), provider)) = self.next(now) {
            match self.limit(&call.target, provider.sender).await? {
                Some(wait_until) => {
                    self.persist().await?;
                    return self.wake_at(wait_until, now).await;
                }
                None => self.make(*call, provider.sender, now).await?,
            }
        }
        self.persist().await?;
        self.arm(runtime::now_millis()).await
    }

    /// Asks the installation's limiter for a call, where the provider limits calls across an
    /// installation's conversations: `Some(time)` to wait until.
    async fn limit(
        &self,
        target: &Target,
        sender: &Sender,
    ) -> std::result::Result<Option<u64>, ApiError> {
        match sender.per_installation {
            Some(rate) => limiter::acquire(&self.env, &target.installation_id, rate).await,
            None => Ok(None),
        }
    }

    /// Makes `call`, unless what it goes through was revoked (then everything waiting is
    /// dropped), and records its outcome.
    async fn make(
        &self,
        call: Call,
        sender: &'static Sender,
        now: u64,
    ) -> std::result::Result<(), ApiError> {
        let db = self.env.d1("DB").map_err(d1::internal)?;
        let now_s = now / 1000;
        let target = &call.target;
        let installation =
            directory::installation(&db, &self.env, &target.installation_id, now_s).await?;
        let binding = installation
            .as_ref()
            .and_then(|i| i.bindings.iter().find(|b| b.id == target.binding_id));
        let (Some(installation), Some(binding)) = (&installation, binding) else {
            let revoked = match installation {
                None => format!("installation:{}", target.installation_id),
                Some(_) => format!("binding:{}", target.binding_id),
            };
            return self.drop_all(&revoked, now).await;
        };
        let provider = call.target.provider;
        let request = match self
            .credential(&db, installation, binding, (provider, sender), now_s)
            .await?
        {
            Ok(credential) => self
                .request(&call, installation, sender, &credential, now_s)
                .map_err(Outcome::Failed),
            Err(outcome) => Err(outcome),
        };
        let request = match request {
            Ok(request) => request,
            Err(outcome) => {
                let changed = self.with_queue(|queue| {
                    queue.begin(call);
                    queue.finish(outcome, now, sender.interval_ms)
                });
                self.mirror(&changed).await;
                self.count(provider, None, &changed, None).await;
                return Ok(());
            }
        };
        self.with_queue(|queue| queue.begin(call.clone()));
        self.persist().await?;
        let (outcome, wait_ms, attempt) = match request {
            Some(request) => {
                let started = runtime::now_millis();
                let (outcome, wait_ms, status) = send(&self.env, sender, &call, request).await;
                let latency_ms = runtime::now_millis().saturating_sub(started);
                let attempt = call.op.logged_name().map(|op| Attempt {
                    op,
                    status,
                    outcome: outcome.code().to_owned(),
                    latency_ms,
                });
                (outcome, wait_ms, attempt)
            }
            None => (Outcome::Done { provider_id: None }, 0, None),
        };
        if matches!(&outcome, Outcome::Failed(failure) if failure.code == "credentials") {
            // A minted token the provider no longer takes is minted again next time.
            app_tokens::forget(provider, installation);
        }
        let interval = sender.interval_ms.max(wait_ms);
        let finished = runtime::now_millis();
        let changed = self.with_queue(|queue| queue.finish(outcome, finished, interval));
        self.mirror(&changed).await;
        let attempt = attempt.map(|attempt| (call.message_id.as_str(), attempt));
        self.count(provider, Some(&call.op), &changed, attempt)
            .await;
        Ok(())
    }

    /// Adds what the `changed` receipts (after a call of `op`) mean to the outbound metrics and,
    /// in the same D1 batch, records the call in its message's attempt log.
    async fn count(
        &self,
        provider: tenancy::Provider,
        op: Option<&Op>,
        changed: &[Receipt],
        attempt: Option<(&str, Attempt)>,
    ) {
        let increments: Vec<Increment> = metric_outcomes(op, changed)
            .into_iter()
            .map(|outcome| Increment::new(Metric::Outbound, provider, outcome, 1))
            .collect();
        let Ok(db) = self.env.d1("DB") else { return };
        let now = runtime::now_seconds();
        let logged = attempt.map(|(id, a)| {
            messages::attempt(&db, id, (a.op, a.status, &a.outcome), a.latency_ms, now)
        });
        let logged = match logged.transpose() {
            Ok(logged) => logged,
            Err(error) => return worker::console_error!("attempt not logged: {error}"),
        };
        metrics::add_all(&db, &self.env, increments, logged.into_iter().collect()).await;
    }

    /// The provider request for `call`, built with the opened credential and, while the
    /// message's reply capability is valid, the provider's reply handles inside it.
    fn request(
        &self,
        call: &Call,
        installation: &Installation,
        sender: &Sender,
        credential: &str,
        now: u64,
    ) -> std::result::Result<Option<HttpCall>, Failure> {
        let handles = call
            .target
            .reply_to
            .as_deref()
            .and_then(|capability| {
                let ring = key_ring(&self.env).ok()?;
                reply::open(&ring, capability, now).ok()
            })
            .map(|reply| reply.handles)
            .unwrap_or_default();
        let base_url = self
            .env
            .var(sender.base_url_var)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let context = Context {
            base_url: &base_url,
            credential,
            handles: &handles,
            tenant_key: &installation.tenant_key,
            metadata: &installation.metadata,
            message_id: &call.message_id,
            now,
        };
        (sender.request)(&call.op, &call.target, &context)
    }

    /// The credential a call through `binding` uses, opened now: the installation's own, else
    /// a token minted with its app profile's secret (GitHub, Teams, Google Chat), else the binding's platform
    /// fallback's ([`credential_source`]); never one picked by provider alone. The inner `Err`
    /// is the call's outcome without a call: a failure, or a retry.
    async fn credential(
        &self,
        db: &worker::D1Database,
        installation: &Installation,
        binding: &Binding,
        (provider, sender): (tenancy::Provider, &Sender),
        now: u64,
    ) -> std::result::Result<std::result::Result<String, Outcome>, ApiError> {
        let name = sender.credential;
        if name.is_empty() {
            // Sent through the Worker's own binding (email): nothing to open.
            return Ok(Ok(String::new()));
        }
        let own = current_secret(&installation.secrets, name, now);
        if own.is_none() {
            if let Some(minted) =
                app_tokens::minted(db, &self.env, provider, installation, now).await?
            {
                return Ok(minted);
            }
        }
        let source = credential_source(
            &installation.id,
            own.is_some(),
            binding.fallback_installation_id.as_deref(),
            name,
        );
        let fallback_id = match (own, source) {
            (Some(own), _) => return Ok(Ok(own)),
            (None, Ok(CredentialSource::PlatformFallback(id))) => id,
            (None, Ok(CredentialSource::Own(_)) | Err(_)) => {
                return Ok(Err(Outcome::Failed(Failure {
                    code: "credentials".into(),
                    reason: format!(
                        "installation {} has no {name} and its binding no platform fallback: \
                         rotate its credentials to add one",
                        installation.id
                    ),
                })))
            }
        };
        let fallback = directory::installation(db, &self.env, &fallback_id, now).await?;
        let secret = fallback.and_then(|f| current_secret(&f.secrets, name, now));
        Ok(secret.ok_or_else(|| {
            Outcome::Failed(Failure {
                code: "credentials".into(),
                reason: format!("the binding's platform fallback {fallback_id} has no live {name}"),
            })
        }))
    }

    /// Drops every waiting message: `revoked` (`installation:<id>` or `binding:<id>`) was
    /// revoked. Counted once per revocation, with one ledger entry for its first drop.
    async fn drop_all(&self, revoked: &str, now: u64) -> std::result::Result<(), ApiError> {
        let reason = format!("{revoked} was revoked before the message was sent");
        let (changed, org, provider) = self.with_queue(|queue| {
            let first = queue.messages.first().map(|m| &m.target);
            let org = first.map(|t| t.org_id.clone());
            let provider = first.map(|t| t.provider);
            (queue.drop_all("revoked", &reason, now), org, provider)
        });
        self.mirror(&changed).await;
        if let Some(provider) = provider {
            self.count(provider, None, &changed, None).await;
        }
        let db = self.env.d1("DB").map_err(d1::internal)?;
        let count = changed.len() as u64;
        if count > 0 && messages::count_drops(&db, revoked, count, now / 1000).await? {
            let event = Event::new("system", "messages.dropped", revoked)
                .with_detail(json!({"reason": "revoked", "count": count}))
                .for_org(org.as_deref());
            ledger::record(&db, &event, now / 1000).await?;
        }
        Ok(())
    }

    /// Mirrors changed receipts to D1; a dead-lettered message also gets its ledger entry. A
    /// failure is logged: the queue stays right, and the receipt catches up on its next change.
    async fn mirror(&self, changed: &[Receipt]) {
        let Ok(db) = self.env.d1("DB") else { return };
        let now = runtime::now_seconds();
        for receipt in changed {
            if let Err(error) = messages::update(&db, receipt, now).await {
                worker::console_error!("receipt {} not updated: {error}", receipt.id);
            }
            if receipt.status == Status::DeadLettered {
                let event =
                    Event::new("system", "message.dead_lettered", &receipt.id).with_detail(json!({
                        "attempts": receipt.attempts,
                        "failure_code": receipt.failure.as_ref().map(|f| &f.code),
                    }));
                if let Err(error) = ledger::record(&db, &event, now).await {
                    worker::console_error!("dead letter {} not audited: {error}", receipt.id);
                }
            }
        }
    }
}

/// The provider a conversation sends through, with what the queue needs of it.
struct Provider {
    sender: &'static Sender,
    behaviour: Behaviour,
    format: Format,
    max_text: usize,
}

impl Provider {
    /// The provider of `queue`'s messages (all of one conversation share it).
    fn of(queue: &Queue) -> Option<Provider> {
        let provider = queue.messages.first()?.target.provider;
        let sender = sender_of(provider, "").ok()?;
        Some(Provider {
            sender,
            behaviour: behaviour(provider)?,
            format: sender.format,
            max_text: max_text(provider),
        })
    }

    /// How a text is split into provider messages.
    fn render(&self) -> impl Fn(&str) -> Vec<String> + '_ {
        move |text| render_parts(text, self.format, self.max_text)
    }
}

/// One provider call made for a message, for its attempt log.
struct Attempt {
    /// `send`, `edit` or `delete`.
    op: &'static str,
    /// The provider's status; 0 without an answer.
    status: u16,
    /// [`Outcome::code`].
    outcome: String,
    /// How long it took.
    latency_ms: u64,
}

/// Makes one provider call: its outcome, how long the provider asks to wait, and its status
/// (0 without an answer). A `mailto:` call goes through the `send_email` binding instead.
async fn send(
    env: &Env,
    sender: &'static Sender,
    call: &Call,
    request: HttpCall,
) -> (Outcome, u64, u16) {
    if let Some(to) = request.url.strip_prefix(MAILTO) {
        let (status, body) = email::send(env, &request, to).await;
        return (
            (sender.outcome)(&call.op, &email::answer(status, &body)),
            0,
            status,
        );
    }
    let method = Method::from(request.method.to_owned());
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let response = http::send(
        method,
        &request.url,
        &headers,
        request.body,
        PROVIDER_TIMEOUT,
        request.follow_redirects,
    )
    .await;
    let mut response = match response {
        Ok(response) => response,
        Err(SendError::TimedOut(reason)) if request.idempotent => {
            return (Outcome::Retry { reason }, 0, 0)
        }
        Err(SendError::TimedOut(reason)) => return (Outcome::TimedOut { reason }, 0, 0),
        Err(SendError::Unreachable(reason)) => return (Outcome::Retry { reason }, 0, 0),
    };
    let status = response.status_code();
    let headers: Vec<(String, String)> = response
        .headers()
        .entries()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect();
    let body = response.text().await.unwrap_or_default();
    let answer = Answer {
        status,
        headers: &headers,
        body: &body,
    };
    let outcome = (sender.outcome)(&call.op, &answer);
    (outcome, answer.bucket_wait_ms(), status)
}
