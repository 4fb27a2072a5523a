//! Guard rail: no library's public function returns an untyped error. Every `pub fn` (free or
//! in an `impl`) in the library crates is parsed with `syn`; its error type may not be `String`,
//! `&str`, `Box<dyn Error>` or `anyhow::Error` (nor may it return `anyhow::Result`). Errors are
//! enums that say what went wrong and where ([`vigil_core::Origin`]).
//!
//! Crates whose typed errors land with later parts of issue 16 list their remaining offenders
//! in `PENDING`; a new offender anywhere fails, and so does a stale entry in the list.

use std::path::{Path, PathBuf};
use syn::{GenericArgument, ImplItem, Item, PathArguments, ReturnType, Type, Visibility};

/// Library crates checked.
const CRATES: &[&str] = &[
    "vigil-core",
    "vigil-scan",
    "vigil-report",
    "vigil-env",
    "vigil-token",
    "vigil-gateway",
];

/// `crate::file::function` of offenders whose fix belongs to another part of issue 16 (env,
/// token and gateway); remove an entry when its function is typed.
const PENDING: &[&str] = &[
    "vigil-env::src/generate.rs::charset",
    "vigil-env::src/schedule.rs::period_days",
    "vigil-token::src/keyring.rs::parse_alg",
    "vigil-token::src/keyring.rs::KeyRing::set_current",
    "vigil-gateway::src/config.rs::Cidr::parse",
    "vigil-gateway::src/rate.rs::Rate::parse",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Why a type is an untyped error, if it is one.
fn untyped(ty: &Type) -> Option<&'static str> {
    match ty {
        Type::Path(p) => {
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let last = segs.last()?;
            if last == "String" {
                return Some("String");
            }
            if last == "Error" && segs.iter().any(|s| s == "anyhow") {
                return Some("anyhow::Error");
            }
            if last == "Box" {
                let PathArguments::AngleBracketed(a) = &p.path.segments.last()?.arguments else {
                    return None;
                };
                if let Some(GenericArgument::Type(Type::TraitObject(_))) = a.args.first() {
                    return Some("Box<dyn Error>");
                }
            }
            None
        }
        Type::Reference(r) => match &*r.elem {
            Type::Path(p) if p.path.is_ident("str") => Some("&str"),
            _ => None,
        },
        Type::TraitObject(_) => Some("dyn Error"),
        _ => None,
    }
}

/// The untyped error a return type carries, if any.
fn bad_return(ret: &ReturnType) -> Option<&'static str> {
    let ReturnType::Type(_, ty) = ret else {
        return None;
    };
    let Type::Path(p) = &**ty else { return None };
    let segs: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    if segs.iter().any(|s| s == "anyhow") {
        return Some("anyhow::Result");
    }
    let PathArguments::AngleBracketed(a) = &last.arguments else {
        return None;
    };
    let types: Vec<&Type> = a
        .args
        .iter()
        .filter_map(|g| match g {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    match types.as_slice() {
        [_, err] => untyped(err),
        _ => None,
    }
}

fn is_pub(v: &Visibility) -> bool {
    matches!(v, Visibility::Public(_))
}

fn visit(items: &[Item], file: &str, out: &mut Vec<(String, &'static str)>) {
    for item in items {
        match item {
            Item::Fn(f) if is_pub(&f.vis) => {
                if let Some(why) = bad_return(&f.sig.output) {
                    out.push((format!("{file}::{}", f.sig.ident), why));
                }
            }
            Item::Impl(i) if i.trait_.is_none() => {
                let ty = match &*i.self_ty {
                    Type::Path(p) => p
                        .path
                        .segments
                        .last()
                        .map(|s| s.ident.to_string())
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                for ii in &i.items {
                    if let ImplItem::Fn(f) = ii {
                        if is_pub(&f.vis) {
                            if let Some(why) = bad_return(&f.sig.output) {
                                out.push((format!("{file}::{ty}::{}", f.sig.ident), why));
                            }
                        }
                    }
                }
            }
            Item::Mod(m) => {
                let is_test = m.attrs.iter().any(|a| {
                    a.path().is_ident("cfg")
                        && a.meta
                            .require_list()
                            .is_ok_and(|l| l.tokens.to_string().contains("test"))
                });
                if let (false, Some((_, inner))) = (is_test, &m.content) {
                    visit(inner, file, out);
                }
            }
            _ => {}
        }
    }
}

fn offenders() -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for krate in CRATES {
        let dir = root().join(krate);
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let parsed = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{}: does not parse: {e}", f.display()));
            let rel = f.strip_prefix(&dir).unwrap().display().to_string();
            visit(&parsed.items, &format!("{krate}::{rel}"), &mut out);
        }
    }
    out
}

#[test]
fn public_functions_of_libraries_return_typed_errors() {
    let found = offenders();
    let new: Vec<String> = found
        .iter()
        .filter(|(name, _)| !PENDING.contains(&name.as_str()))
        .map(|(name, why)| format!("{name} returns {why}"))
        .collect();
    assert!(
        new.is_empty(),
        "public functions with untyped errors (use a thiserror enum with an Origin):\n{}",
        new.join("\n")
    );
    let stale: Vec<&&str> = PENDING
        .iter()
        .filter(|p| !found.iter().any(|(name, _)| name == **p))
        .collect();
    assert!(
        stale.is_empty(),
        "typed now, remove from PENDING: {stale:?}"
    );
}

#[test]
fn the_guard_sees_what_it_must_refuse() {
    let bad = [
        "pub fn a() -> Result<u8, String> { todo!() }",
        "pub fn b() -> std::result::Result<(), Box<dyn std::error::Error + Send>> { todo!() }",
        "pub fn c() -> anyhow::Result<()> { todo!() }",
        "pub fn d() -> Result<(), anyhow::Error> { todo!() }",
        "pub struct S; impl S { pub fn e(&self) -> Result<(), &'static str> { todo!() } }",
        "pub mod m { pub fn f() -> Result<(), String> { todo!() } }",
    ];
    for src in bad {
        let mut out = Vec::new();
        visit(&syn::parse_file(src).unwrap().items, "x", &mut out);
        assert_eq!(out.len(), 1, "{src}");
    }
    let good = [
        "pub fn a() -> Result<String, MyError> { todo!() }",
        "fn private() -> Result<(), String> { todo!() }",
        "pub(crate) fn scoped() -> Result<(), String> { todo!() }",
        "impl std::str::FromStr for S { type Err = String; fn from_str(s: &str) -> Result<Self, String> { todo!() } }",
        "#[cfg(test)] mod tests { pub fn t() -> Result<(), String> { todo!() } }",
    ];
    for src in good {
        let mut out = Vec::new();
        visit(&syn::parse_file(src).unwrap().items, "x", &mut out);
        assert!(out.is_empty(), "{src}: {out:?}");
    }
}
