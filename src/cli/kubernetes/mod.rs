//! `kubernetes -f resource.yaml`: a `GreptimeDBCluster` (and its Secrets) rendered into every
//! pod's config and command line as greptimedb-operator renders them, then checked as one
//! cluster run (every pod's built-in playbook and the cross-node checks), with the resource's
//! own findings as a report of their own, first. `--render` prints what was rendered;
//! `--emit-job` prints a Job that runs the same check inside the cluster.
//!
//! Files: `input.rs` (the `-f` streams, `--secret`), `nodes.rs` (a pod as a planned node),
//! `resource_report.rs` (the findings as checks), `names.rs` (which names resolve from here),
//! `origins.rs` (the resource field behind a failing check's config key),
//! `render.rs` (`--render`), `emit_job.rs` (`--emit-job`). See docs/kubernetes-run.md.

mod emit_job;
mod input;
mod names;
mod nodes;
mod origins;
mod render;
mod resource_report;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::cluster_plan::{self, ClusterPlan};
use super::run::{var_overrides, Invocation};
use super::{ExecArgs, Failure, RunContext};
use crate::config::Component;
use crate::diag::Diagnostic;
use crate::engine::mask::Masker;
use crate::engine::reach::Redirect;
use crate::kubernetes;
use crate::playbook;
use origins::Origins;

/// `kubernetes`'s own options; how to run and report is [`ExecArgs`].
#[derive(Debug, Clone, Args)]
pub struct KubernetesArgs {
    /// YAML holding one GreptimeDBCluster (greptime.io/v1alpha1) and any Secrets it names;
    /// repeatable; `-` reads stdin (`helm template … | greptime-self-test kubernetes -f -`).
    #[arg(short = 'f', long = "file", value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// A Secret the resource names, from a file: `NAME=PATH`, PATH a YAML mapping of its keys,
    /// a whole Secret manifest, or a directory with one file per key (a mounted Secret).
    #[arg(long = "secret", value_name = "NAME=PATH")]
    pub secrets: Vec<String>,
    /// Print every pod's command line and config (secrets masked) and the resource's
    /// findings; run nothing.
    #[arg(long, conflicts_with = "emit_job")]
    pub render: bool,
    /// Connect to ADDR wherever a config names HOST:PORT (curl's form), e.g. a port-forward:
    /// `--resolve mycluster-meta.default:3002:127.0.0.1`; `HOST:PORT:ADDR:LOCAL_PORT` when the
    /// local port differs.
    #[arg(
        long = "resolve",
        value_name = "HOST:PORT:ADDR[:PORT]",
        conflicts_with_all = ["render", "emit_job"]
    )]
    pub resolve: Vec<String>,
    /// Print a ConfigMap and a Job (YAML) that run this check inside the cluster's namespace,
    /// where its Service names resolve; run nothing. Apply with `| kubectl apply -f -`.
    #[arg(long)]
    pub emit_job: bool,
    /// The image the emitted Job runs (the repository's Dockerfile, pushed to your registry)
    /// [default: registry.example.com/greptime-self-test:<this version>].
    #[arg(long, value_name = "IMAGE", requires = "emit_job")]
    pub image: Option<String>,
    /// Set a playbook variable for every pod, as `--var` does for one component.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// Runs `kubernetes`.
pub async fn run(
    args: KubernetesArgs,
    ctx: &RunContext,
    masker: Arc<Masker>,
) -> Result<ExitCode, Failure> {
    let input = input::read(&args.files, &args.secrets)?;
    let rendered = kubernetes::render(&input.input)?;
    for secret in &rendered.secrets {
        masker.add(secret);
    }
    if args.render {
        return Ok(render::print(&rendered, &masker));
    }
    let redirects = args
        .resolve
        .iter()
        .map(|flag| {
            Redirect::parse(flag).map_err(|e| {
                Failure::bad_input(Diagnostic::new("malformed --resolve", e).with_hint(
                    "point a name at a port-forward: kubectl port-forward svc/NAME \
                     LOCAL:PORT, then --resolve NAME.NAMESPACE:PORT:127.0.0.1:LOCAL",
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cli_vars = var_overrides(&args.vars)?;
    if args.emit_job {
        return emit_job::print(&args, &input, &rendered);
    }
    let mut invocation = Invocation::new(&args.exec, ctx, masker.clone())?;
    let nodes = rendered
        .nodes
        .iter()
        .map(|node| nodes::planned(node, &rendered, &cli_vars))
        .collect::<Result<Vec<_>, _>>()?;
    let names = names::look_up(&nodes, &redirects, &rendered, &input.namespaces).await;
    invocation
        .engine
        .set_reach(names.reach(&redirects, &rendered));
    let mut resource = resource_report::report(&rendered, &input.shown_name(), &names, &redirects);
    masker.mask_report(&mut resource);
    let plan = ClusterPlan {
        name: Some(rendered.name.clone()),
        source: Some(input.shown_name().into()),
        nodes,
        cluster_playbooks: vec![playbook::load_builtin(Component::Cluster)?],
        cluster_vars: cli_vars,
    };
    let mut reports = vec![resource];
    reports.extend(cluster_plan::execute(plan, &invocation).await?);
    if let Some(document) = input.cluster_document() {
        Origins::of(&document, &rendered.name).annotate(&mut reports);
    }
    invocation.finish(&reports, true, &args.exec, ctx)
}
