//! `load [--events N] [--concurrency C] [--duplicates PCT] [--random-ids R]` (defaults 2000, 16,
//! 10, 0): a load test of the webhook pipeline against a real `wrangler dev`. Run it through
//! `scripts/load.sh`, which builds the Worker and puts Node 22 on PATH first.
//!
//! 1. Starts a fake agent runtime and a `wrangler dev` delivering to it (throwaway state, as the
//!    end-to-end suite does) and loads the dev seed.
//! 2. The ceiling: N `GET /nope` (the router's 404, the cheapest route there is), then N
//!    `GET /healthz` (cached per isolate), from C threads, while nothing else runs.
//! 3. Slack ingest: N signed Slack `event_callback` messages (unique `event_id` and `ts`, from
//!    the allow-listed `U0DEVALICE` in `T0DEVACME`) to `/webhooks/slack/{slack_platform}`, and
//!    about PCT% of them again as Slack retries (same body, signed again with a fresh timestamp,
//!    `x-slack-retry-num: 1`), each some way behind its original; then waits (at most 60 s)
//!    until every event reached the fake runtime, a few seconds more for late duplicates, and
//!    checks each arrived exactly once (by `provider_event_id`).
//! 4. Bad signatures: N Slack events signed with the wrong secret (401).
//! 5. Mixed: N text messages from every provider in turn ([`mixed`]), each checked to
//!    arrive exactly once; then N more while the fake runtime refuses the first delivery of
//!    about one event in five ([`mixed::faulted`]): each must arrive once after its refusal
//!    (twice at the runtime in all) and the others once.
//! 6. With `--random-ids R`: sends R POSTs to `/webhooks/slack/app_<random>` (unknown ids, one
//!    client address) while creating orgs through the admin API, then checks that the flood
//!    wrote at most one `webhook.rejected` ledger entry per minute and that no admin write
//!    failed.
//!
//! Prints requests/s, p50, p99 and errors per phase as a markdown table, and each phase's rate
//! as a share of the ceiling's. Exits non-zero when an event is missing or delivered twice, the
//! random-id flood wrote more than one ledger entry a minute or made an admin write fail, or the
//! global deadline (10 minutes) cut the run short. Everything stays on 127.0.0.1; wrangler is
//! stopped on exit (`WranglerDev`'s drop).

mod mixed;

use channel_edge::core::ingress::sign;
use channel_edge_e2e::fake::FakeServer;
use channel_edge_e2e::seed;
use channel_edge_e2e::stats::percentile;
use channel_edge_e2e::wrangler::WranglerDev;
use mixed::Mixed;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The whole run, start-up included, stops sending after this.
const GLOBAL_DEADLINE: Duration = Duration::from_secs(600);
/// How long deliveries may take to arrive once sending ended.
const DELIVERY_WAIT: Duration = Duration::from_secs(60);
/// How long to keep watching for duplicates once every event arrived.
const SETTLE: Duration = Duration::from_secs(3);
/// One request may take this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest N (event ids and `ts` carry six digits).
const MAX_EVENTS: usize = 999_999;
/// Prefix of this tool's event ids.
const EVENT_PREFIX: &str = "Ev0LOAD";

const USAGE: &str =
    "usage: load [--events N] [--concurrency C] [--duplicates PCT] [--random-ids R]";
/// The client address of the random-id flood.
const FLOOD_IP: &str = "198.18.0.1";

/// Command-line settings.
#[derive(Debug, Clone, Copy)]
struct Options {
    events: usize,
    concurrency: usize,
    duplicates: usize,
    random_ids: usize,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        events: 2000,
        concurrency: 16,
        duplicates: 10,
        random_ids: 0,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number: usize = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--events" => options.events = number,
            "--concurrency" => options.concurrency = number,
            "--duplicates" => options.duplicates = number,
            "--random-ids" => options.random_ids = number,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    check(options)
}

fn check(options: Options) -> Result<Options, String> {
    if !(1..=MAX_EVENTS).contains(&options.events) {
        return Err(format!("--events must be 1..={MAX_EVENTS}"));
    }
    if !(1..=256).contains(&options.concurrency) {
        return Err("--concurrency must be 1..=256".into());
    }
    if options.duplicates > 100 {
        return Err("--duplicates must be 0..=100".into());
    }
    if options.random_ids > MAX_EVENTS {
        return Err(format!("--random-ids must be 0..={MAX_EVENTS}"));
    }
    Ok(options)
}

/// One request to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// Event `i`'s first delivery.
    Original(usize),
    /// Event `i` again, as a Slack retry.
    Retry(usize),
    /// `GET /nope`: the router's 404.
    NotFound,
    /// `GET /healthz`.
    Health,
    /// Slack event `i` signed with the wrong secret.
    BadSignature(usize),
    /// Mixed-provider event `i`.
    Mixed(usize),
    /// A POST to a random, unknown app profile id.
    RandomId(usize),
}

/// Which events are re-sent: `pct`% of `events`, spread evenly.
fn duplicated(events: usize, pct: usize) -> Vec<usize> {
    let count = events * pct / 100;
    (0..count).map(|k| k * events / count.max(1)).collect()
}

/// Originals in order; each retry goes `lag` originals after its own (or at the end).
fn schedule(events: usize, pct: usize, lag: usize) -> Vec<Job> {
    let mut retries = duplicated(events, pct).into_iter().peekable();
    let mut jobs = Vec::with_capacity(events + events * pct / 100);
    for i in 0..events {
        jobs.push(Job::Original(i));
        while let Some(&retry) = retries.peek().filter(|&&r| r + lag <= i) {
            jobs.push(Job::Retry(retry));
            retries.next();
        }
    }
    jobs.extend(retries.map(Job::Retry));
    jobs
}

/// What one request did.
struct Sample {
    job: Job,
    latency: Duration,
    /// The status, or why there was none.
    outcome: Result<u16, String>,
    /// The provider event id a mixed-provider event carried.
    event_id: Option<String>,
}

impl Sample {
    fn ok(&self) -> bool {
        match (self.job, &self.outcome) {
            (Job::RandomId(_) | Job::NotFound, outcome) => *outcome == Ok(404),
            (Job::BadSignature(_), outcome) => *outcome == Ok(401),
            (Job::Mixed(_), Ok(status)) => (200..300).contains(status),
            (_, outcome) => *outcome == Ok(200),
        }
    }
}

/// Where and how to send Slack events.
struct Target {
    url: String,
    secret: String,
    /// `ts` prefix: whole seconds, so each event's `ts` is unique within and across runs.
    ts_seconds: u64,
}

impl Target {
    fn event_id(i: usize) -> String {
        format!("{EVENT_PREFIX}{i:06}")
    }

    fn body(&self, i: usize) -> String {
        let ts = format!("{}.{i:06}", self.ts_seconds);
        json!({
            "token": "unused", "team_id": "T0DEVACME", "api_app_id": "A0DEVPLATFORM",
            "event": {"type": "message", "channel": "C0DEVGENERAL", "channel_type": "channel",
                      "user": "U0DEVALICE", "text": "hello agent", "ts": ts, "event_ts": ts},
            "type": "event_callback", "event_id": Self::event_id(i), "event_time": seed::now()
        })
        .to_string()
    }
}

/// Sends one job and times it.
fn send(agent: &ureq::Agent, env: &Env, job: Job) -> Sample {
    let (worker, target) = (&env.worker, &env.target);
    let started = Instant::now();
    let mut event_id = None;
    let outcome = match job {
        Job::NotFound => agent.get(worker.url("/nope")).call(),
        Job::Health => agent.get(worker.url("/healthz")).call(),
        Job::RandomId(i) => agent
            .post(worker.url(&format!("/webhooks/slack/app_{:032x}", random_id(i))))
            .header("cf-connecting-ip", FLOOD_IP)
            .send(b"{}".as_slice()),
        Job::Original(i) | Job::Retry(i) => {
            post_slack(agent, target, i, job != Job::Original(i), &target.secret)
        }
        Job::BadSignature(i) => post_slack(agent, target, i, false, "not-the-signing-secret"),
        Job::Mixed(i) => match env.mixed.request(i, seed::now()) {
            Ok(request) => {
                event_id = Some(request.event_id.clone());
                let mut builder = agent.post(&request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(name, value);
                }
                builder.send(&request.body[..])
            }
            Err(error) => {
                return Sample {
                    job,
                    latency: started.elapsed(),
                    outcome: Err(error),
                    event_id,
                }
            }
        },
    }
    .map_err(|e| e.to_string())
    .and_then(|mut response| {
        let status = response.status().as_u16();
        response
            .body_mut()
            .read_to_string()
            .map(|_| status)
            .map_err(|e| e.to_string())
    });
    Sample {
        job,
        latency: started.elapsed(),
        outcome,
        event_id,
    }
}

fn post_slack(
    agent: &ureq::Agent,
    target: &Target,
    i: usize,
    retry: bool,
    secret: &str,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let body = target.body(i);
    let now = seed::now();
    let mut request = agent
        .post(&target.url)
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", now.to_string())
        .header(
            "x-slack-signature",
            sign::slack(secret, now, body.as_bytes()),
        );
    if retry {
        request = request
            .header("x-slack-retry-num", "1")
            .header("x-slack-retry-reason", "http_timeout");
    }
    request.send(body.as_bytes())
}

/// Sends `jobs` from `threads` threads until done or `deadline`; returns the samples and the
/// phase's wall time.
fn run(jobs: &[Job], threads: usize, env: &Env, deadline: Instant) -> (Vec<Sample>, Duration) {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let samples = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| worker_loop(jobs, &next, env, deadline)))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("a load thread panicked"))
            .collect()
    });
    (samples, started.elapsed())
}

fn worker_loop(jobs: &[Job], next: &AtomicUsize, env: &Env, deadline: Instant) -> Vec<Sample> {
    let agent = channel_edge_e2e::http::agent(REQUEST_TIMEOUT);
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        let Some(&job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
            break;
        };
        samples.push(send(&agent, env, job));
    }
    samples
}

/// One table row.
struct Stats {
    label: String,
    requests: usize,
    /// Over the phase's wall time; `None` for a subset of a phase's requests.
    per_second: Option<f64>,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

fn stats(label: String, samples: &[&Sample], wall: Option<Duration>) -> Stats {
    let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    latencies.sort_unstable();
    Stats {
        label,
        requests: samples.len(),
        per_second: wall.map(|wall| samples.len() as f64 / wall.as_secs_f64().max(1e-9)),
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        errors: samples.iter().filter(|s| !s.ok()).count(),
    }
}

/// Prints each distinct error (status or transport failure) with how often it happened.
fn report_errors(phase: &str, samples: &[Sample]) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for sample in samples.iter().filter(|s| !s.ok()) {
        let key = match &sample.outcome {
            Ok(status) => format!("HTTP {status}"),
            Err(error) => error.clone(),
        };
        *counts.entry(key).or_default() += 1;
    }
    for (error, count) in counts {
        eprintln!("load: {phase}: {count} × {error}");
    }
}

/// How many times each provider event id that `counted` accepts reached the runtime (refused
/// deliveries included).
fn arrivals(runtime: &FakeServer, counted: &dyn Fn(&str) -> bool) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in runtime.requests().iter().filter(|r| r.url == "/inbound") {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if let Some(id) = body["provider_event_id"].as_str().filter(|id| counted(id)) {
            *counts.entry(id.to_owned()).or_default() += 1;
        }
    }
    counts
}

/// Waits until every id in `expected` arrived as often as it says (at most [`DELIVERY_WAIT`],
/// never past `deadline`), then [`SETTLE`] more for late duplicates. Returns the counts and how
/// long the wait took.
fn wait_for_deliveries(
    runtime: &FakeServer,
    expected: &BTreeMap<String, usize>,
    deadline: Instant,
) -> (BTreeMap<String, usize>, Duration) {
    let counted = |id: &str| expected.contains_key(id);
    let complete = |counts: &BTreeMap<String, usize>| {
        expected
            .iter()
            .all(|(id, n)| counts.get(id).is_some_and(|c| c >= n))
    };
    let started = Instant::now();
    let until = (started + DELIVERY_WAIT).min(deadline);
    while !complete(&arrivals(runtime, &counted)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(250));
    }
    let waited = started.elapsed();
    if Instant::now() + SETTLE <= deadline {
        std::thread::sleep(SETTLE);
    }
    (arrivals(runtime, &counted), waited)
}

/// The ids that arrived less often than `expected` says (missing) and those that arrived more
/// often (duplicated, with their counts).
fn delivery_problems(
    counts: &BTreeMap<String, usize>,
    expected: &BTreeMap<String, usize>,
) -> (Vec<String>, Vec<(String, usize)>) {
    let mut missing = Vec::new();
    let mut duplicated = Vec::new();
    for (id, &want) in expected {
        let got = counts.get(id).copied().unwrap_or(0);
        if got < want {
            missing.push(id.clone());
        } else if got > want {
            duplicated.push((id.clone(), got));
        }
    }
    (missing, duplicated)
}

/// Checks that the events `expected` names arrived as often as it says; returns the summary
/// line and whether it passed.
fn check_deliveries(
    env: &Env,
    what: &str,
    expected: &BTreeMap<String, usize>,
    deadline: Instant,
) -> (String, bool) {
    eprintln!("load: waiting for the {what} deliveries (at most {DELIVERY_WAIT:?})");
    let (counts, waited) = wait_for_deliveries(&env.runtime, expected, deadline);
    let (missing, duplicated) = delivery_problems(&counts, expected);
    for id in &missing {
        eprintln!("load: {what}: missing: {id}");
    }
    for (id, count) in &duplicated {
        eprintln!("load: {what}: delivered {count} times: {id}");
    }
    let exactly_once = expected.len() - missing.len() - duplicated.len();
    let line = format!(
        "{what}: {exactly_once} of {} events reached the runtime exactly once ({} missing, {} \
         duplicated; waited {:.1} s after the last request).",
        expected.len(),
        missing.len(),
        duplicated.len(),
        waited.as_secs_f64()
    );
    (line, missing.is_empty() && duplicated.is_empty())
}

fn print_table(options: &Options, rows: &[Stats], notes: &[String]) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "\nLoad on this machine ({cores} cores; `scripts/load.sh --events {} --concurrency {} \
         --duplicates {}`; client and `wrangler dev` share the cores):\n",
        options.events, options.concurrency, options.duplicates
    );
    println!("| phase | requests | req/s | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {} |",
            row.label,
            row.requests,
            row.per_second
                .map_or("—".to_owned(), |rate| format!("{rate:.0}")),
            row.p50.as_secs_f64() * 1e3,
            row.p99.as_secs_f64() * 1e3,
            row.errors
        );
    }
    for note in notes {
        println!("\n{note}");
    }
}

/// The running environment: fake runtime, worker, and where to send.
struct Env {
    runtime: FakeServer,
    worker: WranglerDev,
    target: Target,
    mixed: Mixed,
}

fn start() -> Result<Env, String> {
    let runtime = FakeServer::start().map_err(|e| format!("fake runtime: {e}"))?;
    // The fake also serves the dev key set, which Teams' and Google Chat's tokens are signed
    // with in the mixed phases.
    runtime.serve_dev_key_sets();
    let mut vars = runtime.key_set_vars();
    vars.push(("AGENT_RUNTIME_URL", runtime.url("/inbound")));
    let worker = WranglerDev::start(&vars).map_err(|e| e.to_string())?;
    let ids = seed::load(&worker.url(""))?;
    let profile = ids
        .get("slack_platform")
        .ok_or("no slack_platform seeded")?;
    let target = Target {
        url: worker.url(&format!("/webhooks/slack/{profile}")),
        secret: slack_signing_secret()?,
        ts_seconds: seed::now(),
    };
    let mixed = Mixed::new(&worker, &ids)?;
    Ok(Env {
        runtime,
        worker,
        target,
        mixed,
    })
}

fn slack_signing_secret() -> Result<String, String> {
    seed::dataset()["app_profiles"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|profile| profile["ref"] == "slack_platform")
        .and_then(|profile| profile["secrets"]["signing_secret"].as_str())
        .map(str::to_owned)
        .ok_or("no slack_platform signing_secret in seed/dev-dataset.json".into())
}

/// Phase 2: the webhooks; rows for all, first deliveries and retries.
fn webhooks(env: &Env, options: &Options, deadline: Instant) -> (Vec<Stats>, usize) {
    let jobs = schedule(options.events, options.duplicates, 2 * options.concurrency);
    eprintln!(
        "load: sending {} Slack webhooks ({} retries)",
        jobs.len(),
        jobs.len() - options.events
    );
    let (samples, wall) = run(&jobs, options.concurrency, env, deadline);
    report_errors("webhooks", &samples);
    let all: Vec<&Sample> = samples.iter().collect();
    let of = |retry: bool| -> Vec<&Sample> {
        all.iter()
            .copied()
            .filter(|s| matches!(s.job, Job::Retry(_)) == retry)
            .collect()
    };
    let rows = vec![
        stats("Slack webhooks, all".into(), &all, Some(wall)),
        stats("… first deliveries".into(), &of(false), None),
        stats("… retries (`x-slack-retry-num: 1`)".into(), &of(true), None),
    ];
    (rows, jobs.len() - samples.len())
}

/// A different 128-bit id for each `i` (a fixed odd multiplier scatters consecutive numbers).
fn random_id(i: usize) -> u128 {
    (i as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
}

/// Phase 5: the random-id flood beside admin writes. Its row, and what went wrong (if anything).
fn random_ids(env: &Env, options: &Options, deadline: Instant) -> (Stats, Vec<String>) {
    let jobs: Vec<Job> = (0..options.random_ids).map(Job::RandomId).collect();
    eprintln!(
        "load: sending {} POSTs to random app profile ids",
        jobs.len()
    );
    let admin_failures = AtomicUsize::new(0);
    let ((samples, wall), writes) = std::thread::scope(|scope| {
        let flood = scope.spawn(|| run(&jobs, options.concurrency, env, deadline));
        let mut writes = 0;
        while !flood.is_finished() {
            writes += 1;
            if !create_org(&env.worker, writes) {
                admin_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        (flood.join().expect("the flood thread panicked"), writes)
    });
    report_errors("random ids", &samples);
    let all: Vec<&Sample> = samples.iter().collect();
    let row = stats("POSTs to random ids (404)".into(), &all, Some(wall));
    // Rejections are counted in memory and written within FLUSH_SECONDS.
    std::thread::sleep(Duration::from_secs(
        channel_edge::core::tally::FLUSH_SECONDS + 2,
    ));
    let mut problems = Vec::new();
    let failed = admin_failures.load(Ordering::Relaxed);
    if failed > 0 {
        problems.push(format!(
            "{failed} of {writes} admin writes failed during the flood"
        ));
    }
    match flood_entries(&env.worker) {
        Ok((entries, minutes)) if entries <= minutes => eprintln!(
            "load: the flood wrote {entries} ledger entries over {minutes} minutes; \
             {writes} admin writes went through"
        ),
        Ok((entries, minutes)) => problems.push(format!(
            "the flood wrote {entries} ledger entries in {minutes} minutes"
        )),
        Err(error) => problems.push(format!("could not read the ledger: {error}")),
    }
    (row, problems)
}

fn admin_agent() -> ureq::Agent {
    channel_edge_e2e::http::agent(REQUEST_TIMEOUT)
}

fn create_org(worker: &WranglerDev, n: usize) -> bool {
    let token = seed::root_token("profiles:write");
    admin_agent()
        .post(worker.url("/v1/orgs"))
        .header("authorization", format!("Bearer {token}"))
        .send_json(json!({ "name": format!("load flood org {n}") }))
        .is_ok_and(|response| response.status() == 201)
}

/// The flood's `webhook.rejected` entries and the distinct minutes they name.
fn flood_entries(worker: &WranglerDev) -> Result<(usize, usize), String> {
    let token = seed::root_token("audit:read");
    let target = format!("slack ip:{FLOOD_IP}");
    let (mut entries, mut minutes) = (0, std::collections::BTreeSet::new());
    let mut cursor = String::new();
    loop {
        let page: Value = admin_agent()
            .get(worker.url(&format!("/v1/audit?limit=200&cursor={cursor}")))
            .header("authorization", format!("Bearer {token}"))
            .call()
            .map_err(|e| e.to_string())?
            .body_mut()
            .read_json()
            .map_err(|e| e.to_string())?;
        for entry in page["items"].as_array().into_iter().flatten() {
            if entry["action"] == "webhook.rejected" && entry["target"] == target.as_str() {
                entries += 1;
                minutes.insert(entry["detail"]["minute"].as_u64().unwrap_or_default());
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return Ok((entries, minutes.len())),
        }
    }
}

/// A phase of `count` copies of one kind of job: its row.
fn simple_phase(env: &Env, label: &str, jobs: &[Job], threads: usize, deadline: Instant) -> Stats {
    eprintln!("load: {label}: {} requests", jobs.len());
    let (samples, wall) = run(jobs, threads, env, deadline);
    report_errors(label, &samples);
    let all: Vec<&Sample> = samples.iter().collect();
    stats(label.to_owned(), &all, Some(wall))
}

/// Mixed-provider events `range`, sent; their row, and what each is expected to arrive as (once,
/// or twice when `faults` makes the runtime refuse its first delivery).
fn mixed_phase(
    env: &Env,
    label: &str,
    range: std::ops::Range<usize>,
    faults: bool,
    options: &Options,
    deadline: Instant,
) -> (Stats, BTreeMap<String, usize>) {
    let jobs: Vec<Job> = range.map(Job::Mixed).collect();
    eprintln!("load: {label}: {} requests", jobs.len());
    let (samples, wall) = run(&jobs, options.concurrency, env, deadline);
    report_errors(label, &samples);
    let expected = samples
        .iter()
        .filter(|sample| sample.ok())
        .filter_map(|sample| sample.event_id.clone())
        .map(|id| {
            let times = if faults && mixed::faulted(&id) { 2 } else { 1 };
            (id, times)
        })
        .collect();
    let all: Vec<&Sample> = samples.iter().collect();
    (stats(label.to_owned(), &all, Some(wall)), expected)
}

/// `rate` as a share of the ceiling's.
fn share(row: &Stats, ceiling: &Stats) -> String {
    match (row.per_second, ceiling.per_second) {
        (Some(rate), Some(top)) if top > 0.0 => format!("{:.2}", rate / top),
        _ => "—".into(),
    }
}

fn main() -> ExitCode {
    let began = Instant::now();
    let deadline = began + GLOBAL_DEADLINE;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match parse_args(&args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("load: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    eprintln!("load: starting wrangler dev and loading the seed");
    let env = match start() {
        Ok(env) => env,
        Err(error) => {
            eprintln!("load: could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (n, threads) = (options.events, options.concurrency);
    let ceiling = simple_phase(
        &env,
        "`GET /nope` (404: the ceiling)",
        &vec![Job::NotFound; n],
        threads,
        deadline,
    );
    let health = simple_phase(
        &env,
        "`GET /healthz` (cached)",
        &vec![Job::Health; n],
        threads,
        deadline,
    );
    let (slack_rows, _) = webhooks(&env, &options, deadline);
    let slack_expected = (0..n).map(|i| (Target::event_id(i), 1)).collect();
    let slack = check_deliveries(&env, "Slack", &slack_expected, deadline);
    let bad: Vec<Job> = (0..n).map(Job::BadSignature).collect();
    let bad = simple_phase(&env, "Slack, bad signature (401)", &bad, threads, deadline);
    let (mixed, mixed_expected) = mixed_phase(
        &env,
        "every provider in turn",
        0..n,
        false,
        &options,
        deadline,
    );
    let mixed_check = check_deliveries(&env, "Every provider", &mixed_expected, deadline);
    mixed::inject_faults(&env.runtime);
    let (faulted, faulted_expected) = mixed_phase(
        &env,
        "every provider, runtime refusing 20 %",
        n..2 * n,
        true,
        &options,
        deadline,
    );
    let faulted_check = check_deliveries(&env, "With refusals", &faulted_expected, deadline);
    let mut rows = vec![ceiling, health];
    rows.extend(slack_rows);
    rows.extend([bad, mixed, faulted]);
    let mut flood_problems = Vec::new();
    if options.random_ids > 0 {
        let (row, problems) = random_ids(&env, &options, deadline);
        rows.push(row);
        flood_problems = problems;
    }
    for problem in &flood_problems {
        eprintln!("load: {problem}");
    }
    let ceiling_row = &rows[0];
    let shares: Vec<String> = rows
        .iter()
        .skip(1)
        .filter(|row| row.per_second.is_some())
        .map(|row| format!("{} {}", row.label, share(row, ceiling_row)))
        .collect();
    let notes = [
        format!("Rate as a share of the ceiling's: {}.", shares.join("; ")),
        slack.0.clone(),
        mixed_check.0.clone(),
        faulted_check.0.clone(),
    ];
    print_table(&options, &rows, &notes);
    let requested = 5 * n + n * options.duplicates / 100 + options.random_ids;
    let sent: usize = rows
        .iter()
        .filter(|row| row.per_second.is_some())
        .map(|row| row.requests)
        .sum();
    let unsent = requested.saturating_sub(sent);
    if unsent > 0 {
        eprintln!("load: the {GLOBAL_DEADLINE:?} deadline left {unsent} requests unsent");
    }
    let delivered_once = slack.1 && mixed_check.1 && faulted_check.1;
    if !delivered_once {
        eprintln!(
            "--- last lines of wrangler's log ---\n{}",
            env.worker.log_tail()
        );
    }
    // `env` drops here: wrangler stops, then the fake runtime.
    if delivered_once && unsent == 0 && flood_problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_their_original_by_the_lag() {
        let jobs = schedule(10, 20, 3);
        assert_eq!(jobs.len(), 12);
        let position = |job: Job| jobs.iter().position(|&j| j == job).unwrap();
        for retry in duplicated(10, 20) {
            assert!(position(Job::Retry(retry)) > position(Job::Original(retry)));
        }
        assert_eq!(duplicated(10, 20), vec![0, 5]);
        assert_eq!(position(Job::Retry(0)), 4, "right after Original(3)");
        assert_eq!(position(Job::Retry(5)), 10, "right after Original(8)");
        let late = schedule(10, 20, 6);
        assert_eq!(
            *late.last().unwrap(),
            Job::Retry(5),
            "late ones go at the end"
        );
    }

    #[test]
    fn no_duplicates_and_all_duplicates() {
        assert_eq!(schedule(5, 0, 1).len(), 5);
        assert_eq!(duplicated(4, 100), vec![0, 1, 2, 3]);
        assert_eq!(schedule(4, 100, 0).len(), 8);
    }

    #[test]
    fn arguments_have_defaults_and_bounds() {
        let options = parse_args(&[]).unwrap();
        assert_eq!(
            (options.events, options.concurrency, options.duplicates),
            (2000, 16, 10)
        );
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let options = parse_args(&args(&["--events", "5", "--duplicates", "0"])).unwrap();
        assert_eq!((options.events, options.duplicates), (5, 0));
        assert!(parse_args(&args(&["--events", "0"])).is_err());
        assert!(parse_args(&args(&["--duplicates", "101"])).is_err());
        assert!(parse_args(&args(&["--events"])).is_err());
        assert!(parse_args(&args(&["--speed", "1"])).is_err());
        assert_eq!(
            parse_args(&args(&["--random-ids", "10000"]))
                .unwrap()
                .random_ids,
            10000
        );
        assert!(parse_args(&args(&["--random-ids", "1000000"])).is_err());
    }

    #[test]
    fn random_ids_differ_and_are_128_bits() {
        let ids: std::collections::BTreeSet<u128> = (0..10_000).map(random_id).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().any(|id| *id > u128::from(u64::MAX)));
        let sample = Sample {
            job: Job::RandomId(1),
            latency: Duration::ZERO,
            outcome: Ok(404),
            event_id: None,
        };
        assert!(sample.ok(), "404 is what a random id should get");
    }

    #[test]
    fn missing_and_duplicated_events_are_named() {
        let counts: BTreeMap<String, usize> = [("a", 1), ("c", 2), ("d", 1), ("e", 3)]
            .map(|(id, n)| (id.to_owned(), n))
            .into_iter()
            .collect();
        let expected: BTreeMap<String, usize> = [("a", 1), ("b", 1), ("c", 1), ("d", 2), ("e", 2)]
            .map(|(id, n)| (id.to_owned(), n))
            .into_iter()
            .collect();
        let (missing, duplicated) = delivery_problems(&counts, &expected);
        assert_eq!(
            missing,
            ["b", "d"],
            "a refused event must also arrive after its refusal"
        );
        assert_eq!(duplicated, [("c".to_owned(), 2), ("e".to_owned(), 3)]);
    }

    #[test]
    fn each_phase_expects_its_own_status() {
        let sample = |job, status| Sample {
            job,
            latency: Duration::ZERO,
            outcome: Ok(status),
            event_id: None,
        };
        assert!(sample(Job::NotFound, 404).ok());
        assert!(sample(Job::BadSignature(1), 401).ok());
        assert!(!sample(Job::BadSignature(1), 200).ok());
        assert!(
            sample(Job::Mixed(4), 204).ok(),
            "Standard Webhooks answers 204"
        );
        assert!(!sample(Job::Mixed(4), 503).ok());
        assert!(sample(Job::Original(1), 200).ok());
    }
}
