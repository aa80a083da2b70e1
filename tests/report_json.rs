//! The JSON reporter: it round-trips and matches the schema it ships.

use greptime_self_test::engine::result::{RunReport, Status};
use greptime_self_test::report::{report_schema, JsonReporter, Reporter};
use serde_json::Value;

fn fixture() -> RunReport {
    serde_json::from_str(include_str!("fixtures/report/run_report.json")).expect("fixture parses")
}

fn to_json(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Value {
    let mut out = Vec::new();
    write(&mut out).expect("writes to a Vec");
    serde_json::from_slice(&out).expect("output is JSON")
}

fn assert_valid(instance: &Value) {
    let schema = report_schema();
    let validator = jsonschema::validator_for(schema.as_value()).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn round_trips() {
    let report = fixture();
    let written = to_json(|out| JsonReporter.write(&report, out));
    let read_back: RunReport = serde_json::from_value(written.clone()).expect("reads back");
    assert_eq!(serde_json::to_value(&read_back).unwrap(), written);
    assert_eq!(read_back.checks[4].message, report.checks[4].message);
    assert_eq!(read_back.checks[3].status, Status::Fail);
}

#[test]
fn matches_report_schema() {
    let report = fixture();
    assert_valid(&to_json(|out| JsonReporter.write(&report, out)));

    let mut broken = to_json(|out| JsonReporter.write(&report, out));
    broken["checks"][0]["status"] = Value::from("maybe");
    let schema = report_schema();
    let validator = jsonschema::validator_for(schema.as_value()).expect("schema compiles");
    assert!(
        !validator.is_valid(&broken),
        "the schema rejects an unknown status"
    );
}

#[test]
fn many_reports_are_an_array() {
    let reports = [fixture(), fixture()];
    let written = to_json(|out| JsonReporter.write_many(&reports, out));
    let items = written.as_array().expect("an array");
    assert_eq!(items.len(), 2);
    items.iter().for_each(assert_valid);
}
