//! The typed fast passes against the precise decoders: on the recorded
//! fixtures and on thousands of variants of them (every member removed,
//! retyped, nulled, repeated, unknown members added, lone surrogates and
//! bad UTF-8 in read and skipped strings), both give the same answer,
//! events or error.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::{Map, Value, json};

use crate::otlp::{decode_otlp_json, decode_otlp_json_precisely, fast_pass_reads};
use crate::validate::validate_batch;
use crate::wire_v1::{SdkBatch, decode_precisely, decode_sdk_batch, typed};
use crate::{DecodeError, limits::MAX_BODY_BYTES};

// No clock-skew bound: the fixtures were recorded at various times.
const NOW: u64 = u64::MAX;
const SDK_FIXTURES: [&[u8]; 3] = [
    include_bytes!("../fixtures/sdk_v1_checkout_full.json"),
    include_bytes!("../fixtures/sdk_v1_checkout_skeleton.json"),
    include_bytes!("../fixtures/sdk_v1_payments.json"),
];
const OTLP_FIXTURES: [&[u8]; 2] = [
    include_bytes!("../fixtures/otlp_checkout.json"),
    include_bytes!("../fixtures/otlp_payments.json"),
];

/// Placeholders swapped for raw JSON text no `Value` can hold.
const LONE: &str = "@@lone@@";
const BAD_UTF8: &str = "@@bad-utf8@@";
const DUP_FIRST: &str = "@@dup@@";
const DUP_LAST: &str = "~~dup~~";

fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(""),
        json!("  "),
        json!("x"),
        json!("0"),
        json!("201"),
        json!("5f13e582-c5c9-4baa-8859-029e1f7a82e2"),
        json!("39a994f46e98aa3925880d3112c69233"),
        json!("488b84ddb22ad566"),
        json!(0),
        json!(-1),
        json!(7),
        json!(503),
        json!(u64::MAX),
        json!(1.5),
        json!(true),
        json!([]),
        json!([1]),
        json!({}),
        json!({"stringValue": "x"}),
        json!({"intValue": "404"}),
        json!({"arrayValue": {"values": [{"stringValue": LONE}]}}),
        json!({"kvlistValue": {"values": [{"key": "k", "u": LONE}]}}),
        json!({"values": []}),
        json!(LONE),
        json!(BAD_UTF8),
        json!({"x": [LONE]}),
    ]
}

/// Every variant of `value`: each node replaced by each replacement, each
/// member removed, repeated before and after itself with each replacement,
/// and an unknown member added to each object.
fn variants(value: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for replacement in replacements() {
        out.push(replacement);
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let mut without = map.clone();
                without.remove(key);
                out.push(Value::Object(without));
                for variant in variants(child) {
                    let mut changed = map.clone();
                    changed.insert(key.clone(), variant);
                    out.push(Value::Object(changed));
                }
                for repeat in [DUP_FIRST, DUP_LAST] {
                    for replacement in [json!(null), json!(1), json!("x"), child.clone()] {
                        let mut repeated = map.clone();
                        repeated.insert(format!("{repeat}{key}"), replacement);
                        out.push(Value::Object(repeated));
                    }
                }
            }
            let mut unknown = map.clone();
            unknown.insert("zz_unknown".into(), json!({"a": [LONE, 1, {"b": null}]}));
            out.push(Value::Object(unknown));
            let mut unknown_ok = map.clone();
            unknown_ok.insert("zz_unknown".into(), json!({"a": ["ok", 1, {"b": null}]}));
            out.push(Value::Object(unknown_ok));
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                for variant in variants(item) {
                    let mut changed = items.clone();
                    changed[index] = variant;
                    out.push(Value::Array(changed));
                }
                let mut without = items.clone();
                without.remove(index);
                out.push(Value::Array(without));
            }
        }
        _ => {}
    }
    out
}

/// The JSON text of a variant, placeholders made real.
fn body(value: &Value) -> Vec<u8> {
    let mut text = serde_json::to_string(value).unwrap();
    for repeat in [DUP_FIRST, DUP_LAST] {
        text = text.replace(&format!("\"{repeat}"), "\"");
    }
    let text = text.replace(LONE, "\\ud800");
    let mut bytes = Vec::with_capacity(text.len());
    for (index, part) in text.split(BAD_UTF8).enumerate() {
        if index > 0 {
            bytes.push(0xff);
        }
        bytes.extend_from_slice(part.as_bytes());
    }
    bytes
}

/// The SDK decoder with its fast pass bypassed.
fn sdk_precisely(body: &[u8]) -> Result<SdkBatch, DecodeError> {
    assert!(body.len() <= MAX_BODY_BYTES);
    let (envelope, events) = decode_precisely(body, "tenant")?;
    validate_batch(&events, NOW)?;
    Ok(SdkBatch { envelope, events })
}

/// A fixture batch cut to its first `keep` events.
fn trimmed(fixture: &[u8], keep: usize) -> Value {
    let mut value: Value = serde_json::from_slice(fixture).unwrap();
    value["events"].as_array_mut().unwrap().truncate(keep);
    value
}

#[test]
fn sdk_fast_pass_matches_the_precise_decoder() {
    // Variants the fast pass reads itself (not left to the precise one).
    let mut accepted = 0;
    let mut checked = 0;
    for fixture in SDK_FIXTURES {
        let whole: Value = serde_json::from_slice(fixture).unwrap();
        let events = whole["events"].as_array().unwrap().clone();
        // Vary the envelope with one event, then each distinct event alone.
        let mut batches = vec![trimmed(fixture, 1)];
        for event in events {
            let mut batch = whole.clone();
            batch["events"] = Value::Array(vec![event]);
            batches.push(batch);
        }
        for batch in batches {
            for variant in variants(&batch) {
                let body = body(&variant);
                let fast = decode_sdk_batch(&body, "tenant", NOW);
                assert_eq!(fast, sdk_precisely(&body), "{}", String::from_utf8_lossy(&body));
                accepted += usize::from(typed::decode(&body, "tenant").is_some());
                checked += 1;
            }
        }
    }
    println!("sdk: {accepted} of {checked} variants read by the fast pass");
    assert!(accepted > 1000 && checked > 20_000, "{accepted} of {checked}");
}

#[test]
fn otlp_fast_pass_matches_the_precise_decoder() {
    // Variants the fast pass reads itself (not left to the precise one).
    let mut accepted = 0;
    let mut checked = 0;
    for fixture in OTLP_FIXTURES {
        let whole: Value = serde_json::from_slice(fixture).unwrap();
        let spans = whole["resourceSpans"][0]["scopeSpans"][0]["spans"]
            .as_array()
            .unwrap()
            .clone();
        // Each span alone, its resource with it.
        let mut exports = vec![];
        for span in spans {
            let mut export = whole.clone();
            export["resourceSpans"][0]["scopeSpans"][0]["spans"] = Value::Array(vec![span]);
            exports.push(export);
        }
        for variant in exports.iter().flat_map(variants) {
            let body = body(&variant);
            let fast = decode_otlp_json(&body, "tenant", NOW);
            assert_eq!(
                fast,
                decode_otlp_json_precisely(&body, "tenant", NOW),
                "{}",
                String::from_utf8_lossy(&body)
            );
            accepted += usize::from(fast_pass_reads(&body));
            checked += 1;
        }
    }
    println!("otlp: {accepted} of {checked} variants read by the fast pass");
    assert!(accepted > 1000 && checked > 5_000, "{accepted} of {checked}");
}

#[test]
fn whole_fixtures_decode_the_same() {
    for fixture in SDK_FIXTURES {
        assert!(typed::decode(fixture, "tenant").is_some(), "the fast pass reads it");
        assert_eq!(decode_sdk_batch(fixture, "tenant", NOW), sdk_precisely(fixture));
    }
    for fixture in OTLP_FIXTURES {
        assert!(fast_pass_reads(fixture), "the fast pass reads it");
        let fast = decode_otlp_json(fixture, "tenant", NOW);
        assert!(fast.is_ok());
        assert_eq!(fast, decode_otlp_json_precisely(fixture, "tenant", NOW));
    }
}

#[test]
fn escapes_and_odd_shapes() {
    let cases: [&[u8]; 8] = [
        br#"{"schema_version":"1","events":[],"x":"\ud83d\ude00"}"#,
        br#"{"schema_version":"1","events":[],"x":"\udc00"}"#,
        br#"{"schema_version":"\u0031","service_id":"s\u00e9","events":[]}"#,
        br#"{"schema_version":"1","events":{}}"#,
        br#"[{"schema_version":"1","events":[]}]"#,
        br#"{"schema_version":"1","events":[]} x"#,
        br#"{"resourceSpans":[[null,[],""]]}"#,
        b"{\"schema_version\":\"1\",\"events\":[],\"x\":\"\xc3\"}",
    ];
    for body in cases {
        assert_eq!(decode_sdk_batch(body, "tenant", NOW), sdk_precisely(body));
        assert_eq!(
            decode_otlp_json(body, "tenant", NOW),
            decode_otlp_json_precisely(body, "tenant", NOW)
        );
    }
}

#[test]
fn placeholders_become_raw_json() {
    let mut map = Map::new();
    map.insert(format!("{DUP_FIRST}a"), json!(LONE));
    map.insert("a".into(), json!(BAD_UTF8));
    let text = body(&Value::Object(map));
    assert_eq!(text, b"{\"a\":\"\\ud800\",\"a\":\"\xff\"}");
}
