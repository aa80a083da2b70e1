//! `config.inspect`: a rendered value as the step output, for checks that judge the config
//! itself with `assert` and `outcomes` (no I/O).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plugins::{Step, StepCx, StepError};

/// Hands a (templated) value to the check's assertions and outcomes unchanged.
pub struct Inspect;

/// Parameters of `config.inspect`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectParams {
    /// The value to judge, usually a single expression such as `"{{ config.backend }}"` or a
    /// mapping of several; it keeps its type (list, number, mapping).
    pub value: Value,
}

/// Output of `config.inspect`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InspectOutput {
    /// The value, as rendered.
    pub value: Value,
}

impl Step for Inspect {
    const NAME: &'static str = "config.inspect";
    const SUMMARY: &'static str =
        "Expose a rendered config value to assertions and outcomes, without any I/O";
    const EXAMPLE: &'static str = "value: \"{{ config.backend }}\"\n";
    type Params = InspectParams;
    type Output = InspectOutput;

    async fn run(&self, params: Self::Params, _cx: &StepCx) -> Result<Self::Output, StepError> {
        Ok(InspectOutput {
            value: params.value,
        })
    }
}
