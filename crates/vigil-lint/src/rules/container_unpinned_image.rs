//! `container-unpinned-image`: an image without a version tag or digest.
//!
//! ## What it finds
//! A compose `image:` or `docker run` image with no tag, or tagged `latest`, and no
//! `@sha256:` digest; a `${TAG:-latest}` default is judged as written.
//!
//! ## Why it matters
//! The next pull silently runs different code; a tag you chose (better, a digest) keeps what
//! you reviewed.

use super::common::services;
use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "container-unpinned-image",
    family: Family::Containers,
    severity: Severity::Warning,
    summary: "A container image has no version tag or digest (or is :latest)",
    fix: "Pin the image to a version tag, better a digest: image: redis:7.4.1@sha256:…",
    check: Check::File(check),
    examples: &[
        fx("docker-compose.yml", "services:\n  redis:\n    image: «redis\n  qdrant:\n    image: «qdrant/qdrant:latest\n"),
        // A default is what runs when the variable is unset (black-box tester, session 12: F13).
        fx("docker-compose.yml", "services:\n  a:\n    image: «\"a:${TAG:-latest}\"\n  b:\n    image: «${REGISTRY:-ghcr.io}/acme/b\n"),
        fx(".mcp.json", r#"{"mcpServers": {"gh": {"command": "docker", "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", «"ghcr.io/github/github-mcp-server"]}}}"#),
    ],
    counterexamples: &[fx("docker-compose.yml", "services:\n  redis:\n    image: redis:7.4.1\n  qdrant:\n    image: qdrant/qdrant@sha256:0f3c9a1b2d4e5f60718293a4b5c6d7e8f90123450f3c9a1b2d4e5f6071829300\n  bot:\n    build: .\n  a:\n    image: \"a:${TAG:-1.4.2}\"\n  b:\n    image: ghcr.io/acme/b:${TAG}\n")],
};

/// Whether an image reference names a tag other than `latest` or a digest.
pub(crate) fn pinned(image: &str) -> bool {
    if image.contains("@sha256:") {
        return true;
    }
    // `${TAG:-latest}` is `latest` when `TAG` is unset: a default is judged as written; a
    // reference without one is chosen at deploy time.
    let with_defaults;
    let image = if image.contains("${") {
        with_defaults = super::common::with_defaults(image);
        if with_defaults.contains("${") || with_defaults.contains('$') {
            return true;
        }
        with_defaults.as_str()
    } else {
        image
    };
    if image.contains("@sha256:") {
        return true;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) => !tag.is_empty() && tag != "latest",
        None => false,
    }
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        if let Some(i) = s.docker_run().and_then(|r| r.image) {
            let img = &s.argv[i].0;
            if !pinned(img) {
                out.at(
                    s.argv[i].1.span,
                    s.launch_key.join("args"),
                    format!(
                        "`{}` runs image `{}` without a version",
                        s.name,
                        super::common::shown_image(img)
                    ),
                );
            }
        }
    }
    for (name, svc, key) in services(&cx.doc.root) {
        if let Some(img) = svc.get("image") {
            if let Some(t) = img.as_str() {
                if !pinned(t) {
                    out.at(
                        img.span,
                        key.join("image"),
                        format!(
                            "service `{name}` runs image `{}` without a version",
                            super::common::shown_image(t)
                        ),
                    );
                }
            }
        }
    }
}
