//! The `Dockerfile` and the Kubernetes examples that run its image agree. No container engine or
//! registry is reachable here, so the image is never built; instead this reads the Dockerfile's
//! instructions and checks what a build could not show until it ran in a cluster: the examples'
//! image is the name and crate version the Dockerfile's build command tags, the image's numeric
//! user is the Jobs' `runAsUser`, both stages are on the same Debian release (the binary links
//! that release's glibc), the builder's Rust is the crate's `rust-version`, and every `RUN` is
//! clean under shellcheck as the image's `/bin/sh` (dash) runs it.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_yaml::Value;

use crate::common;
use crate::examples::{at, kubernetes_sets, objects_of_kind};

/// One instruction: the keyword (upper case) and its arguments, continuation lines joined.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

/// The Dockerfile's instructions; comment lines are dropped, `\` continuations joined.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
            }
            None => {
                pending.push_str(trimmed);
                let (keyword, args) = pending.split_once(' ').unwrap_or((&pending, ""));
                out.push(Instruction {
                    keyword: keyword.to_ascii_uppercase(),
                    args: args.trim().to_string(),
                });
                pending.clear();
            }
        }
    }
    assert!(
        pending.is_empty(),
        "the Dockerfile ends inside a continuation"
    );
    out
}

/// A build stage: its `FROM` image, its name and its instructions.
struct Stage {
    image: String,
    name: String,
    body: Vec<Instruction>,
}

fn stages(instructions: Vec<Instruction>) -> (Vec<Instruction>, Vec<Stage>) {
    let mut global = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for ins in instructions {
        if ins.keyword == "FROM" {
            let words: Vec<&str> = ins.args.split_whitespace().collect();
            let (image, name) = match words.as_slice() {
                [image, as_, name] if as_.eq_ignore_ascii_case("as") => (*image, *name),
                _ => panic!("FROM {} names no stage (`FROM image AS name`)", ins.args),
            };
            stages.push(Stage {
                image: image.to_string(),
                name: name.to_string(),
                body: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.body.push(ins);
        } else {
            global.push(ins);
        }
    }
    (global, stages)
}

fn dockerfile() -> (Vec<Instruction>, Vec<Stage>, String) {
    let text = std::fs::read_to_string(common::path("Dockerfile")).expect("Dockerfile");
    let (global, stages) = stages(instructions(&text));
    assert!(stages.len() >= 2, "a build stage and a runtime stage");
    (global, stages, text)
}

/// The image the Dockerfile's header documents building: `docker build -t IMAGE .`.
fn documented_image(text: &str) -> String {
    let commands: Vec<&str> = text
        .lines()
        .filter_map(|line| {
            line.trim_start_matches('#')
                .trim()
                .strip_prefix("docker build -t ")
        })
        .collect();
    match commands.as_slice() {
        [rest] => rest
            .strip_suffix(" .")
            .expect("`docker build -t IMAGE .`")
            .to_string(),
        _ => panic!("the Dockerfile documents one `docker build -t IMAGE .`, found {commands:?}"),
    }
}

#[test]
fn kubernetes_examples_run_the_image_the_dockerfile_builds_as_its_user() {
    let (_, stages, text) = dockerfile();
    let image = documented_image(&text);
    let tag = image.rsplit_once(':').map(|(_, tag)| tag);
    assert_eq!(
        tag,
        Some(env!("CARGO_PKG_VERSION")),
        "{image}: tag it with the crate version"
    );
    let runtime = stages.last().unwrap();
    let user = runtime
        .body
        .iter()
        .rfind(|ins| ins.keyword == "USER")
        .expect("the runtime stage sets USER");
    // runAsNonRoot can only verify a numeric user
    let (uid, gid) = user.args.split_once(':').expect("USER uid:gid");
    let (uid, gid): (u64, u64) = (uid.parse().expect("numeric uid"), gid.parse().expect("gid"));
    assert_ne!(uid, 0, "the image runs as root");

    let mut jobs = 0;
    for (origin, objects) in kubernetes_sets() {
        for job in objects_of_kind(&objects, "Job") {
            jobs += 1;
            let pod = at(job, "spec.template.spec").expect("a pod template");
            let security =
                |key: &str| at(pod, &format!("securityContext.{key}")).and_then(Value::as_u64);
            assert_eq!(security("runAsUser"), Some(uid), "{origin}: runAsUser");
            assert_eq!(security("runAsGroup"), Some(gid), "{origin}: runAsGroup");
            let containers = pod["containers"].as_sequence().expect("containers");
            for container in containers {
                assert_eq!(
                    container["image"].as_str(),
                    Some(image.as_str()),
                    "{origin}"
                );
            }
        }
    }
    assert_eq!(jobs, 2, "the plain Job and the chart's hook Job");
}

#[test]
fn dockerfile_stages_match_the_crate_and_each_other() {
    let (global, stages, _) = dockerfile();
    let (build, runtime) = (&stages[0], stages.last().unwrap());
    let rust = global
        .iter()
        .find_map(|ins| ins.args.strip_prefix("RUST_VERSION="))
        .expect("ARG RUST_VERSION=… before the first FROM");
    assert_eq!(rust, env!("CARGO_PKG_RUST_VERSION"), "the builder's Rust");
    let release = |image: &str| {
        let tag = image.rsplit_once(':').expect("a tagged image").1;
        tag.rsplit('-')
            .find(|part| ["bookworm", "trixie"].contains(part))
            .unwrap_or_else(|| panic!("{image}: no Debian release in the tag"))
            .to_string()
    };
    assert!(
        build.image.starts_with("rust:${RUST_VERSION}-"),
        "{}",
        build.image
    );
    assert!(runtime.image.starts_with("debian:"), "{}", runtime.image);
    assert_eq!(
        release(&build.image),
        release(&runtime.image),
        "same Debian release"
    );

    let run_text = |stage: &Stage| -> String {
        let runs = stage.body.iter().filter(|ins| ins.keyword == "RUN");
        runs.map(|ins| ins.args.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    // what scripts/prereqs.sh installs to build, and what TLS needs at run time
    for package in ["protobuf-compiler", "libprotobuf-dev"] {
        assert!(
            run_text(build).contains(package),
            "the builder installs {package}"
        );
    }
    assert!(run_text(runtime).contains("ca-certificates"));

    // the binary is copied from an earlier stage to the path the entrypoint runs
    let copy = runtime
        .body
        .iter()
        .find(|ins| ins.keyword == "COPY" && ins.args.starts_with("--from="))
        .expect("COPY --from=<build stage>");
    let words: Vec<&str> = copy.args.split_whitespace().collect();
    assert_eq!(words.len(), 3, "COPY --from=STAGE SRC DEST: {}", copy.args);
    let from = words[0].trim_start_matches("--from=");
    assert!(stages.iter().any(|s| s.name == from), "no stage {from}");
    assert!(words[1].ends_with("/target/release/greptime-self-test"));
    let entrypoint = runtime
        .body
        .iter()
        .find(|ins| ins.keyword == "ENTRYPOINT")
        .expect("ENTRYPOINT");
    let entrypoint: Vec<String> =
        serde_json::from_str(&entrypoint.args).expect("ENTRYPOINT in exec (JSON) form");
    assert_eq!(entrypoint, [words[2]]);
}

#[test]
fn dockerfile_run_commands_pass_shellcheck_as_dash() {
    let Ok(version) = Command::new("shellcheck").arg("--version").output() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but shellcheck is missing: run scripts/prereqs.sh --test"
        );
        eprintln!("note: shellcheck is missing (scripts/prereqs.sh --test); test skipped");
        return;
    };
    assert!(version.status.success());
    let (_, stages, _) = dockerfile();
    let mut runs = 0;
    for stage in &stages {
        for ins in stage.body.iter().filter(|ins| ins.keyword == "RUN") {
            runs += 1;
            assert!(
                !ins.args.starts_with('['),
                "RUN in shell form: {}",
                ins.args
            );
            let mut child = Command::new("shellcheck")
                .args(["--shell=dash", "--severity=warning", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("shellcheck runs");
            let script = format!("{}\n", ins.args);
            child
                .stdin
                .take()
                .unwrap()
                .write_all(script.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "stage {}: RUN {}\n{}",
                stage.name,
                ins.args,
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
    assert_eq!(
        runs, 3,
        "the builder's apt-get and cargo build, the runtime's apt-get"
    );
}

#[test]
fn dockerignore_keeps_build_output_out_of_the_context() {
    let ignore = std::fs::read_to_string(common::path(".dockerignore")).expect(".dockerignore");
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(patterns.contains(&"target"), "{patterns:?}");
}
