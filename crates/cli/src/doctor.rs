//! `berth doctor`: what could stop a machine from working here, each finding with a fix. The checks live
//! in berth-engine (the app's Troubleshoot screen shows the same findings); this prints them.
//!
//! `--json` prints an array of `{ id, check, level, ok, detail, fix }`: `check`, `ok`, `detail` and `fix`
//! as before (`ok` is false only for failures), `id` and `level` (`ok` / `warn` / `fail`) added.

use berth_engine::{Engine, Finding, Level};
use serde::Serialize;

use crate::{CmdResult, Failure};

#[derive(Serialize)]
struct JsonFinding<'a> {
    id: &'a str,
    check: &'a str,
    level: Level,
    ok: bool,
    detail: &'a str,
    fix: Option<&'a str>,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        JsonFinding {
            id: &f.id,
            check: &f.check,
            level: f.level,
            ok: f.ok(),
            detail: &f.message,
            fix: f.fix.as_deref(),
        }
    }
}

pub async fn run(engine: &Engine, json: bool) -> CmdResult {
    let findings = engine.doctor().await?;
    if json {
        let out: Vec<JsonFinding> = findings.iter().map(JsonFinding::from).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", text(&findings));
    }
    let failed = findings.iter().filter(|x| !x.ok()).count();
    if failed > 0 {
        return Err(Failure {
            code: 1,
            message: format!("{failed} problem(s) found"),
        });
    }
    Ok(())
}

/// The findings as lines: a verdict, the check and what was found, and the fix below a finding that has one.
fn text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for x in findings {
        let verdict = match x.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        out += &format!("{verdict} {:<14} {}\n", x.check, x.message);
        if let Some(fix) = &x.fix {
            out += &format!("     {:<14} fix: {fix}\n", "");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(level: Level, fix: Option<&str>) -> Finding {
        Finding {
            id: "tools.passt".into(),
            check: "tools".into(),
            level,
            message: "passt is not installed".into(),
            fix: fix.map(Into::into),
        }
    }

    #[test]
    fn json_keeps_the_old_fields_and_adds_id_and_level() {
        let f = finding(Level::Fail, Some("sudo apt-get install passt"));
        let v = serde_json::to_value(JsonFinding::from(&f)).unwrap();
        assert_eq!(v["check"], "tools");
        assert_eq!(v["ok"], false);
        assert_eq!(v["detail"], "passt is not installed");
        assert_eq!(v["fix"], "sudo apt-get install passt");
        assert_eq!(v["id"], "tools.passt");
        assert_eq!(v["level"], "fail");
        let v = serde_json::to_value(JsonFinding::from(&finding(Level::Warn, Some("x")))).unwrap();
        assert_eq!(v["ok"], true, "a warning does not fail the doctor");
    }

    #[test]
    fn text_shows_the_verdict_and_the_fix_under_it() {
        let t = text(&[
            finding(Level::Fail, Some("sudo apt-get install passt")),
            finding(Level::Ok, None),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "FAIL tools          passt is not installed");
        assert_eq!(lines[1], "                    fix: sudo apt-get install passt");
        assert!(lines[2].starts_with("ok   tools"));
    }
}
