//! Guard rail: no public function of the listed library crates returns `Result<_, String>`
//! (or `&str`, a tuple of strings), `Box<dyn Error>` or `anyhow`'s error. Library errors are
//! typed enums that wrap their cause and say where it came from (`vigil_core::Origin`).
//!
//! The check reads each crate's source with `syn`: free `pub fn`s and `pub fn`s of inherent
//! `impl` blocks, outside `#[cfg(test)]` modules.

use quote::ToTokens;
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// The crates held to the rule (add each crate once its public API is clean).
const CRATES: &[&str] = &[
    "vigil-core",
    "vigil-report",
    "vigil-scan",
    "vigil-env",
    "vigil-gateway",
    "vigil-token",
    "vigil-memory",
    "vigil-lint",
    "vigil-seal",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Why an error type is not a typed error, if it is not.
fn untyped(e: &syn::Type) -> Option<&'static str> {
    match e {
        syn::Type::Path(p) => {
            let last = p.path.segments.last()?;
            let full = p.path.to_token_stream().to_string().replace(' ', "");
            if last.ident == "String" {
                Some("String")
            } else if full.ends_with("anyhow::Error") {
                Some("anyhow::Error")
            } else if last.ident == "Box"
                && last.to_token_stream().to_string().contains("dyn")
                && last.to_token_stream().to_string().contains("Error")
            {
                Some("Box<dyn Error>")
            } else {
                None
            }
        }
        syn::Type::Reference(r) => untyped(&r.elem).or(match &*r.elem {
            syn::Type::Path(p) if p.path.is_ident("str") => Some("&str"),
            _ => None,
        }),
        syn::Type::Tuple(t) => t.elems.iter().find_map(untyped),
        syn::Type::Paren(p) => untyped(&p.elem),
        syn::Type::Group(g) => untyped(&g.elem),
        _ => None,
    }
}

/// The untyped error of a return type `Result<_, E>` (or `anyhow::Result<_>`), at any depth
/// of the type (`Option<Result<_, String>>`, `impl Fn() -> Result<_, String>`).
fn bad_result(ty: &syn::Type) -> Option<&'static str> {
    struct Find(Option<&'static str>);
    impl<'a> Visit<'a> for Find {
        fn visit_path(&mut self, p: &'a syn::Path) {
            if let Some(last) = p.segments.last() {
                if last.ident == "Result" {
                    let full = p.to_token_stream().to_string().replace(' ', "");
                    if full.starts_with("anyhow::") {
                        self.0.get_or_insert("anyhow::Result");
                    }
                    if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                        let types: Vec<&syn::Type> = args
                            .args
                            .iter()
                            .filter_map(|a| match a {
                                syn::GenericArgument::Type(t) => Some(t),
                                _ => None,
                            })
                            .collect();
                        if let [_, e] = types.as_slice() {
                            if let Some(why) = untyped(e) {
                                self.0.get_or_insert(why);
                            }
                        }
                    }
                }
            }
            syn::visit::visit_path(self, p);
        }
    }
    let mut f = Find(None);
    f.visit_type(ty);
    f.0
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.to_token_stream()
                .to_string()
                .replace(' ', "")
                .contains("cfg(test)")
    })
}

struct Public<'f> {
    file: &'f str,
    found: Vec<String>,
}

impl Public<'_> {
    fn check(&mut self, vis: &syn::Visibility, sig: &syn::Signature, owner: &str) {
        if !matches!(vis, syn::Visibility::Public(_)) {
            return;
        }
        if let syn::ReturnType::Type(_, ty) = &sig.output {
            if let Some(why) = bad_result(ty) {
                self.found.push(format!(
                    "{}: {owner}{}: error type {why}",
                    self.file, sig.ident
                ));
            }
        }
    }
}

impl<'a> Visit<'a> for Public<'_> {
    fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
        if !is_cfg_test(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }

    fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
        if !is_cfg_test(&f.attrs) {
            self.check(&f.vis, &f.sig, "");
        }
    }

    fn visit_item_impl(&mut self, i: &'a syn::ItemImpl) {
        if i.trait_.is_some() || is_cfg_test(&i.attrs) {
            return;
        }
        let owner = format!("{}::", i.self_ty.to_token_stream()).replace(' ', "");
        for item in &i.items {
            if let syn::ImplItem::Fn(f) = item {
                self.check(&f.vis, &f.sig, &owner);
            }
        }
    }
}

fn offenders(krate: &str) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(!files.is_empty(), "{} has no sources", src.display());
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = format!("{krate}/{}", f.strip_prefix(&src).unwrap().display());
        let mut v = Public {
            file: &name,
            found: Vec::new(),
        };
        v.visit_file(&parsed);
        found.extend(v.found);
    }
    found
}

#[test]
fn public_functions_return_typed_errors() {
    let found: Vec<String> = CRATES.iter().flat_map(|c| offenders(c)).collect();
    assert!(
        found.is_empty(),
        "public functions with an untyped error (use a thiserror enum with an Origin):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_each_untyped_error() {
    let src = r#"
        pub fn a() -> Result<(), String> { todo!() }
        pub fn b() -> Result<u8, (String, String)> { todo!() }
        pub fn c() -> Result<u8, Box<dyn std::error::Error + Send>> { todo!() }
        pub fn d() -> anyhow::Result<u8> { todo!() }
        pub fn e() -> Result<u8, anyhow::Error> { todo!() }
        pub fn f() -> Result<u8, &'static str> { todo!() }
        pub struct S;
        impl S { pub fn g(&self) -> Option<Result<u8, String>> { None } }
        pub fn ok1() -> Result<u8, std::io::Error> { todo!() }
        pub fn ok2() -> std::io::Result<u8> { todo!() }
        fn private() -> Result<(), String> { todo!() }
        pub(crate) fn internal() -> Result<(), String> { todo!() }
        impl std::str::FromStr for S { type Err = String; fn from_str(_: &str) -> Result<S, String> { todo!() } }
        #[cfg(test)] mod tests { pub fn t() -> Result<(), String> { todo!() } }
    "#;
    let mut v = Public {
        file: "x.rs",
        found: Vec::new(),
    };
    v.visit_file(&syn::parse_file(src).unwrap());
    let names: Vec<&str> = v
        .found
        .iter()
        .map(|f| f.split(": ").nth(1).unwrap())
        .collect();
    assert_eq!(
        names,
        ["a", "b", "c", "d", "e", "f", "S::g"],
        "{:#?}",
        v.found
    );
}
