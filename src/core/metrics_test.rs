use super::*;
use prometheus_parse::{Scrape, Value};

fn row(metric: Metric, provider: &str, label: &str, value: u64) -> Row {
    Row {
        name: metric.name().into(),
        provider: provider.into(),
        label: label.into(),
        value,
    }
}

fn scrape(text: &str) -> Scrape {
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    Scrape::parse(lines).expect("the exposition parses")
}

fn sample<'a>(scrape: &'a Scrape, name: &str, labels: &[(&str, &str)]) -> &'a Value {
    &scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
        .value
}

#[test]
fn counters_render_as_a_parsable_exposition_with_their_labels() {
    let rows = [
        row(Metric::Accepted, "slack", "", 3),
        row(Metric::Rejected, "slack", "bad_signature", 2),
        row(Metric::Deliveries, "telegram", "delivered", 5),
        row(Metric::Outbound, "slack", "sent", 1),
        row(Metric::Dropped, "whatsapp", "sender_not_allowed", 4),
    ];
    let text = render(&rows);
    let scrape = scrape(&text);
    let counter = |name, labels: &[(&str, &str)]| match sample(&scrape, name, labels) {
        Value::Counter(v) => *v,
        other => panic!("{name} is not a counter: {other:?}"),
    };
    assert_eq!(
        counter(
            "channel_edge_events_accepted_total",
            &[("provider", "slack")]
        ),
        3.0
    );
    assert_eq!(
        counter(
            "channel_edge_webhooks_rejected_total",
            &[("provider", "slack"), ("reason", "bad_signature")]
        ),
        2.0
    );
    assert_eq!(
        counter(
            "channel_edge_deliveries_total",
            &[("provider", "telegram"), ("outcome", "delivered")]
        ),
        5.0
    );
    assert_eq!(
        counter(
            "channel_edge_events_dropped_total",
            &[("provider", "whatsapp"), ("reason", "sender_not_allowed")]
        ),
        4.0
    );
    assert_eq!(scrape.samples.len(), 5);
    assert!(text.contains("# TYPE channel_edge_delivery_latency_seconds histogram"));
}

#[test]
fn latency_buckets_are_cumulative_and_count_every_observation() {
    let observations = [40, 100, 101, 2_000, 7_200_000];
    let increments = merge(
        observations
            .iter()
            .flat_map(|ms| latency(Provider::Telegram, *ms)),
    );
    let rows: Vec<Row> = increments
        .iter()
        .map(|i| row(i.metric, i.provider.as_str(), i.label, i.value))
        .collect();
    let scrape = scrape(&render(&rows));
    let Value::Histogram(buckets) = sample(
        &scrape,
        "channel_edge_delivery_latency_seconds",
        &[("provider", "telegram")],
    ) else {
        panic!("not a histogram");
    };
    let at = |le: f64| {
        buckets
            .iter()
            .find(|b| b.less_than == le)
            .map(|b| b.count)
            .unwrap()
    };
    assert_eq!(at(0.1), 2.0, "40 ms and 100 ms (bounds are inclusive)");
    assert_eq!(at(0.25), 3.0);
    assert_eq!(at(2.5), 4.0);
    assert_eq!(at(3600.0), 4.0, "two hours is above every bound");
    assert_eq!(at(f64::INFINITY), 5.0);
    let text = render(&rows);
    assert!(
        text.contains("channel_edge_delivery_latency_seconds_sum{provider=\"telegram\"} 7202.241")
    );
    assert!(text.contains("channel_edge_delivery_latency_seconds_count{provider=\"telegram\"} 5"));
}

#[test]
fn increments_of_one_counter_are_merged() {
    let merged = merge([
        Increment::new(Metric::Accepted, Provider::Slack, "", 1),
        Increment::new(Metric::Accepted, Provider::Slack, "", 2),
        Increment::new(Metric::Accepted, Provider::Discord, "", 1),
    ]);
    assert_eq!(merged.len(), 2);
    assert!(merged.contains(&Increment::new(Metric::Accepted, Provider::Slack, "", 3)));
}

#[test]
fn stored_label_values_are_escaped_and_unknown_rows_left_out() {
    let rows = [
        row(Metric::Rejected, "slack", "a\"b\\c\nd", 1),
        Row {
            name: "something_else".into(),
            provider: "slack".into(),
            label: String::new(),
            value: 9,
        },
    ];
    let text = render(&rows);
    assert!(text.contains(r#"reason="a\"b\\c\nd""#), "{text}");
    assert!(!text.contains("something_else"));
    let scrape = scrape(&text);
    assert_eq!(scrape.samples.len(), 1);
}
