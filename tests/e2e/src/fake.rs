//! Loopback HTTP servers that stand in for services the worker calls but tests cannot reach:
//! the agent runtime and providers' APIs.
//!
//! A [`FakeServer`] records every request it receives and answers each from a script: responses
//! queued for a path with [`FakeServer::respond`] are used first, in order; after that the path's
//! responder (set with [`FakeServer::respond_with`], which sees the requests received so far),
//! its default (set with [`FakeServer::default_response`]) or `200 {}` answers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The method, upper case.
    pub method: String,
    /// The path and query, as sent.
    pub url: String,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Recorded {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "request body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body, sent as `application/json`.
    pub body: String,
    /// How long to wait before answering (to provoke the caller's timeout).
    pub delay: Duration,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
}

impl Answer {
    /// `status` with a JSON `body`, at once.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Answer {
            status,
            body: body.to_string(),
            delay: Duration::ZERO,
            headers: Vec::new(),
        }
    }

    /// The same answer with header `name: value` too.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A queued answer, optionally only for a request whose body contains `needle`.
struct Queued {
    needle: Option<Vec<u8>>,
    answer: Answer,
}

/// Computes an answer from the requests received before it.
type Responder = Arc<dyn Fn(&[Recorded]) -> Answer + Send + Sync>;
/// Computes an answer from the request's body and the requests received before it.
type BodyResponder = Arc<dyn Fn(&[u8], &[Recorded]) -> Answer + Send + Sync>;

#[derive(Default)]
struct Script {
    queued: HashMap<String, VecDeque<Queued>>,
    responders: HashMap<String, Responder>,
    body_responders: HashMap<String, BodyResponder>,
    defaults: HashMap<String, Answer>,
}

#[derive(Default)]
struct Shared {
    recorded: Mutex<Vec<Recorded>>,
    arrived: Condvar,
    script: Mutex<Script>,
}

/// Where [`FakeServer::provider_vars`] points the Bot Framework's, Google Chat's and Google's
/// key sets.
pub const KEY_SET_PATHS: [&str; 3] = ["/keys/botframework", "/keys/google-chat", "/keys/google"];

/// A fake HTTP service on 127.0.0.1. Dropping it stops the server.
pub struct FakeServer {
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    base_url: String,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Starts a fake on a free loopback port.
    pub fn start() -> std::io::Result<Self> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(std::io::Error::other)?;
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let server = Arc::new(server);
        let shared = Arc::new(Shared::default());
        let thread = {
            let (server, shared) = (server.clone(), shared.clone());
            std::thread::spawn(move || serve(&server, &shared))
        };
        Ok(FakeServer {
            server,
            shared,
            base_url: format!("http://127.0.0.1:{port}"),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Every provider API base URL (`[vars]`), pointed at this fake under a path prefix of its
    /// own (`/telegram`, `/graph`, `/slack`, `/discord`, `/line`, `/instagram`,
    /// `/linear`, `/github`, `/twilio`).
    pub fn provider_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TELEGRAM_API_BASE_URL", self.url("/telegram")),
            ("GRAPH_API_BASE_URL", self.url("/graph")),
            ("SLACK_API_BASE_URL", self.url("/slack")),
            ("DISCORD_API_BASE_URL", self.url("/discord")),
            ("LINE_API_BASE_URL", self.url("/line")),
            ("INSTAGRAM_API_BASE_URL", self.url("/instagram")),
            ("LINEAR_API_BASE_URL", self.url("/linear")),
            ("GITHUB_API_BASE_URL", self.url("/github")),
            ("TWILIO_API_BASE_URL", self.url("/twilio")),
            ("TEAMS_LOGIN_BASE_URL", self.url("/teams-login")),
            ("TEAMS_SERVICE_URLS", self.url("/teams/")),
            ("GOOGLE_CHAT_API_BASE_URL", self.url("/chat")),
            ("GOOGLE_OAUTH_TOKEN_URL", self.url("/google-oauth/token")),
        ]
        .into_iter()
        .chain(self.key_set_vars())
        .collect()
    }

    /// The `[vars]` that point the Bot Framework's, Google Chat's and Google's key sets here
    /// (see [`FakeServer::serve_dev_key_sets`]).
    pub fn key_set_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("BOTFRAMEWORK_JWKS_URL", self.url(KEY_SET_PATHS[0])),
            ("GOOGLE_CHAT_JWKS_URL", self.url(KEY_SET_PATHS[1])),
            ("GOOGLE_OIDC_JWKS_URL", self.url(KEY_SET_PATHS[2])),
        ]
    }

    /// Serves the dev key set (`seed/dev-jwt-key-set.json`) as the Bot Framework's, Google
    /// Chat's and Google's key sets, until a test answers otherwise.
    pub fn serve_dev_key_sets(&self) {
        let key_set: serde_json::Value =
            serde_json::from_str(include_str!("../../../seed/dev-jwt-key-set.json"))
                .expect("the dev key set is JSON");
        for path in KEY_SET_PATHS {
            self.default_response(path, Answer::json(200, key_set.clone()));
        }
    }

    /// Queues `answer` for the next request to `path` (path only, without the query).
    pub fn respond(&self, path: &str, answer: Answer) {
        self.queue(path, None, answer);
    }

    /// Queues `answer` for the next request to `path` whose body contains `needle`, so tests
    /// running at the same time do not take each other's answers.
    pub fn respond_to(&self, path: &str, needle: &str, answer: Answer) {
        self.queue(path, Some(needle.as_bytes().to_vec()), answer);
    }

    fn queue(&self, path: &str, needle: Option<Vec<u8>>, answer: Answer) {
        let mut script = self.shared.script.lock().unwrap();
        script
            .queued
            .entry(path.to_owned())
            .or_default()
            .push_back(Queued { needle, answer });
    }

    /// Answers every request to `path` with `answer` once its queue is empty.
    pub fn default_response(&self, path: &str, answer: Answer) {
        let mut script = self.shared.script.lock().unwrap();
        script.defaults.insert(path.to_owned(), answer);
    }

    /// Answers every request to `path` with what `responder` makes of the requests received
    /// before it, once its queue is empty: how a fake echoes state (a webhook URL set earlier).
    pub fn respond_with(
        &self,
        path: &str,
        responder: impl Fn(&[Recorded]) -> Answer + Send + Sync + 'static,
    ) {
        let mut script = self.shared.script.lock().unwrap();
        script
            .responders
            .insert(path.to_owned(), Arc::new(responder));
    }

    /// Like [`FakeServer::respond_with`], for a responder that also reads the request's body.
    pub fn respond_to_body(
        &self,
        path: &str,
        responder: impl Fn(&[u8], &[Recorded]) -> Answer + Send + Sync + 'static,
    ) {
        let mut script = self.shared.script.lock().unwrap();
        script
            .body_responders
            .insert(path.to_owned(), Arc::new(responder));
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.recorded.lock().unwrap().clone()
    }

    /// Waits up to `timeout` until `count` received requests match `filter`, and returns all the
    /// matching ones received by then (more than `count` if more arrived).
    pub fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
        filter: impl Fn(&Recorded) -> bool,
    ) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        let mut recorded = self.shared.recorded.lock().unwrap();
        loop {
            let matching: Vec<Recorded> = recorded.iter().filter(|r| filter(r)).cloned().collect();
            let now = Instant::now();
            if matching.len() >= count || now >= deadline {
                return matching;
            }
            recorded = self
                .shared
                .arrived
                .wait_timeout(recorded, deadline - now)
                .unwrap()
                .0;
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(server: &tiny_http::Server, shared: &Shared) {
    for mut request in server.incoming_requests() {
        let mut body = Vec::new();
        let _ = request.as_reader().read_to_end(&mut body);
        let url = request.url().to_owned();
        let path = url.split('?').next().unwrap_or_default().to_owned();
        let recorded = Recorded {
            at: Instant::now(),
            method: request.method().as_str().to_ascii_uppercase(),
            url,
            headers: request
                .headers()
                .iter()
                .map(|h| {
                    (
                        h.field.as_str().as_str().to_ascii_lowercase(),
                        h.value.to_string(),
                    )
                })
                .collect(),
            body,
        };
        let answer = next_answer(shared, &path, &recorded.body);
        shared.recorded.lock().unwrap().push(recorded);
        shared.arrived.notify_all();
        // Each answer on its own thread, so a delayed answer does not hold up the others.
        std::thread::spawn(move || {
            std::thread::sleep(answer.delay);
            let header = tiny_http::Header::from_bytes("content-type", "application/json")
                .expect("a valid header");
            let mut response = tiny_http::Response::from_string(answer.body)
                .with_status_code(answer.status)
                .with_header(header);
            for (name, value) in &answer.headers {
                if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                {
                    response.add_header(header);
                }
            }
            let _ = request.respond(response);
        });
    }
}

fn next_answer(shared: &Shared, path: &str, body: &[u8]) -> Answer {
    let mut script = shared.script.lock().unwrap();
    if let Some(queue) = script.queued.get_mut(path) {
        let matches = |queued: &Queued| {
            queued
                .needle
                .as_ref()
                .is_none_or(|needle| body.windows(needle.len()).any(|w| w == needle.as_slice()))
        };
        if let Some(index) = queue.iter().position(matches) {
            return queue
                .remove(index)
                .expect("the index was just found")
                .answer;
        }
    }
    if let Some(responder) = script.body_responders.get(path).cloned() {
        drop(script);
        return responder(body, &shared.recorded.lock().unwrap());
    }
    if let Some(responder) = script.responders.get(path).cloned() {
        drop(script);
        return responder(&shared.recorded.lock().unwrap());
    }
    script
        .defaults
        .get(path)
        .cloned()
        .unwrap_or_else(|| Answer::json(200, serde_json::json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http;
    use serde_json::json;

    #[test]
    fn a_responder_sees_earlier_requests() {
        let fake = FakeServer::start().unwrap();
        fake.respond_with("/echo", |seen| {
            Answer::json(200, json!({"seen": seen.len()}))
        });
        http::get(&fake.url("/other"));
        let reply = http::get(&fake.url("/echo"));
        assert_eq!(reply.json(), json!({"seen": 1}));
    }

    #[test]
    fn records_requests_and_answers_from_the_script() {
        let fake = FakeServer::start().unwrap();
        fake.respond("/a", Answer::json(500, json!({"n": 1})));
        fake.default_response("/a", Answer::json(201, json!({"n": 2})));

        let first = http::send("POST", &fake.url("/a?x=1"), &[("x-test", "yes")], b"hello");
        let second = http::get(&fake.url("/a"));
        let other = http::get(&fake.url("/b"));

        assert_eq!((first.status, first.json()), (500, json!({"n": 1})));
        assert_eq!((second.status, second.json()), (201, json!({"n": 2})));
        assert_eq!((other.status, other.json()), (200, json!({})));
        let recorded = fake.requests();
        assert_eq!(recorded.len(), 3);
        assert_eq!(recorded[0].method, "POST");
        assert_eq!(recorded[0].url, "/a?x=1");
        assert_eq!(recorded[0].header("X-Test"), Some("yes"));
        assert_eq!(recorded[0].body, b"hello");
    }

    #[test]
    fn answers_for_a_needle_go_only_to_matching_bodies() {
        let fake = FakeServer::start().unwrap();
        fake.respond_to("/a", "mine", Answer::json(500, json!({})));
        assert_eq!(
            http::send("POST", &fake.url("/a"), &[], b"other").status,
            200
        );
        assert_eq!(
            http::send("POST", &fake.url("/a"), &[], b"is mine").status,
            500
        );
        assert_eq!(
            http::send("POST", &fake.url("/a"), &[], b"is mine").status,
            200
        );
    }

    #[test]
    fn wait_for_returns_when_enough_requests_match_or_time_is_up() {
        let fake = FakeServer::start().unwrap();
        http::get(&fake.url("/x"));
        let matched = fake.wait_for(1, Duration::from_secs(5), |r| r.url == "/x");
        assert_eq!(matched.len(), 1);
        let started = Instant::now();
        let none = fake.wait_for(1, Duration::from_millis(200), |r| r.url == "/never");
        assert!(none.is_empty());
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
