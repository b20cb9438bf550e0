//! A blocking HTTP client for the tests: every status is a response (not an error), and the
//! response keeps status, headers and body so tests can assert on all three.

use std::io::{BufRead, BufReader};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;
use ureq::http::{Method, Request};

/// An agent that treats 4xx/5xx as responses and gives up on a request after `timeout`.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The `code` of an error body `{"error": {"code", "message"}}`; panics (failing the test)
    /// when the body is not of that shape or its message is empty.
    pub fn error_code(&self) -> String {
        let body = self.json();
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty(),
            "an error body with a message: {}",
            self.body
        );
        body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("an error body with a code: {}", self.body))
            .to_owned()
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

/// Sends one request and reads the whole reply. Panics (failing the test) when the request cannot
/// be made at all, naming the method and URL.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut builder = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("a valid HTTP method"))
        .uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(body.to_vec()).expect("a valid request");
    let mut response = agent(Duration::from_secs(30))
        .run(request)
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let body = response
        .body_mut()
        .read_to_string()
        .unwrap_or_else(|e| panic!("{method} {url}: reading the body: {e}"));
    Reply {
        status: response.status().as_u16(),
        headers,
        body,
    }
}

/// `GET url`.
pub fn get(url: &str) -> Reply {
    send("GET", url, &[], &[])
}

/// The `data:` payloads of the server-sent event stream at `url`, parsed as JSON, in order. A
/// thread reads the stream (through `ureq`, so chunked bodies are decoded) for at most `timeout`;
/// callers wait on the receiver with their own deadline. The channel closes when the stream ends,
/// the time is up or the receiver is dropped.
pub fn events(url: &str, token: &str, timeout: Duration) -> Receiver<serde_json::Value> {
    let (sender, receiver) = mpsc::channel();
    let (url, authorization) = (url.to_owned(), format!("Bearer {token}"));
    std::thread::spawn(move || {
        let response = agent(timeout)
            .get(&url)
            .header("Authorization", &authorization)
            .header("Accept", "text/event-stream")
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let reader = BufReader::new(response.into_body().into_reader());
        for line in reader.lines().map_while(Result::ok) {
            let Some(data) = line.strip_prefix("data: ") else {
                continue;
            };
            let event = serde_json::from_str(data)
                .unwrap_or_else(|e| panic!("an event that is not JSON ({e}): {data}"));
            if sender.send(event).is_err() {
                break;
            }
        }
    });
    receiver
}
