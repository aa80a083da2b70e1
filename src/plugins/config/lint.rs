//! `config.lint`: reports what the config loader found wrong with the component config.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{LintFinding, Severity};
use crate::plugins::{Step, StepCx, StepError};

/// Reports the lint findings of the effective config. It only reports: the playbook decides
/// the verdict (typically `errors == 0` fails, `warnings > 0` warns).
pub struct Lint;

/// `config.lint` takes no parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintParams {}

/// Output of `config.lint`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LintOutput {
    /// Number of findings with severity `error`.
    pub errors: usize,
    /// Number of findings with severity `warning`.
    pub warnings: usize,
    /// Every finding, in the loader's order.
    pub findings: Vec<LintFinding>,
}

impl Step for Lint {
    const NAME: &'static str = "config.lint";
    const SUMMARY: &'static str =
        "Report config problems (unknown keys, bad enum values, missing keys) found while loading";
    const EXAMPLE: &'static str = "{}\n";
    type Params = LintParams;
    type Output = LintOutput;

    async fn run(&self, _params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let findings = cx.config.findings.clone();
        let count = |severity| findings.iter().filter(|f| f.severity == severity).count();
        Ok(LintOutput {
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            findings,
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        output.findings.iter().map(detail_line).collect()
    }
}

/// `error invalid_enum storage.type (datanode.toml:12:8): message — hint …`
fn detail_line(finding: &LintFinding) -> String {
    let severity = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut line = format!("{severity} {} {}", finding.code, finding.key);
    if let Some(location) = &finding.location {
        line.push_str(&format!(" ({location})"));
    }
    line.push_str(&format!(": {}", finding.message));
    if let Some(hint) = &finding.hint {
        line.push_str(&format!(" — hint {hint}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_line_includes_location_and_hint_only_when_present() {
        let mut finding = LintFinding {
            severity: Severity::Error,
            code: "invalid_enum".into(),
            key: "storage.type".into(),
            message: "`s3` is not a storage type".into(),
            hint: Some("did you mean `S3`?".into()),
            location: Some("datanode.toml:12:8".into()),
        };
        assert_eq!(
            detail_line(&finding),
            "error invalid_enum storage.type (datanode.toml:12:8): `s3` is not a storage type \
             — hint did you mean `S3`?"
        );
        finding.severity = Severity::Warning;
        finding.hint = None;
        finding.location = None;
        assert_eq!(
            detail_line(&finding),
            "warning invalid_enum storage.type: `s3` is not a storage type"
        );
    }
}
