//! `junit.xml` through quick-junit: one `<testsuite>` per scenario, one
//! `<testcase>` per scenario × seed × backend (`name` = `seed=N`,
//! `classname` = `<backend>.<scenario>`). A device failure is a
//! `<failure>`, an infrastructure error an `<error>`; their text holds each
//! oracle's message and the replay command.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::{failure_text, Plan, RunEntry};
use crate::oracle::Status;
use crate::run::RunStatus;

/// The testcase name of a run.
pub fn case_name(seed: u64) -> String {
    format!("seed={seed}")
}

/// Renders the report.
pub fn render(plan: &Plan, runs: &[RunEntry], elapsed: Duration) -> io::Result<String> {
    let mut report = Report::new(format!("hil {}", plan.command));
    report.set_time(elapsed);
    // Suites in order of first appearance (plan order), cases in plan order.
    let mut order: Vec<&str> = Vec::new();
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for e in runs {
        let r = &e.report;
        let suite = suites.entry(r.scenario.as_str()).or_insert_with(|| {
            order.push(r.scenario.as_str());
            let mut s = TestSuite::new(r.scenario.clone());
            s.add_property(Property::new("path", r.path.clone()));
            s.add_property(Property::new("backend", r.backend.clone()));
            s
        });
        let status = match r.status {
            RunStatus::Pass => TestCaseStatus::success(),
            RunStatus::Fail => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let first = r
                    .verdicts
                    .iter()
                    .find(|v| v.status == Status::Fail)
                    .map(|v| v.oracle.clone())
                    .unwrap_or_default();
                st.set_message(format!("oracle {first} failed; replay: {}", r.replay));
                st.set_type("oracle");
                st.set_description(failure_text(r));
                st
            }
            RunStatus::InfrastructureError => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_message(format!(
                    "infrastructure: {}",
                    r.error.as_deref().unwrap_or("unknown")
                ));
                st.set_type("infrastructure");
                st.set_description(failure_text(r));
                st
            }
        };
        let mut case = TestCase::new(case_name(r.seed), status);
        case.set_classname(format!("{}.{}", r.backend, r.scenario));
        case.set_time(Duration::from_millis(e.elapsed_ms));
        case.add_property(Property::new("seed", r.seed.to_string()));
        case.add_property(Property::new("replay", r.replay.clone()));
        case.add_property(Property::new("run_dir", r.dir.display().to_string()));
        suite.add_test_case(case);
    }
    for name in order {
        if let Some(s) = suites.remove(name) {
            report.add_test_suite(s);
        }
    }
    report.to_string().map_err(io::Error::other)
}
